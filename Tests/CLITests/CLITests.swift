import Foundation
import Testing

/// The command-line tool as a user runs it: exit codes, messages on bad input, the main job.
struct CLITests {
    /// The built `kobert-emotion` next to this test bundle.
    static let binary: URL = {
        var dir = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("kobert-emotion").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("kobert-emotion")
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String], stdin: String? = nil, cache: URL, environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cache.path].merging(environment) { $1 }) { $1 }
        p.currentDirectoryURL = cache
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("CLITests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A workbook written by Scripts/make_xlsx_fixtures.py (in the EmotionClassifier tests' fixtures).
    static func workbook(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EmotionClassifierTests/Fixtures/xlsx/\(name)")
    }

    @Test func badInputGivesAClearErrorAndNonZeroExit() throws {
        let dir = try Self.tempDir()
        let csv = dir.appendingPathComponent("bad.csv")
        try Data("발화문,상황\n좋아요,happiness\n뭐라고,confused\n,fear\n".utf8).write(to: csv)
        let cases: [([String], String)] = [
            (["train", "--data", dir.appendingPathComponent("missing.csv").path], "missing.csv"),
            (["train", "--data", csv.path], "confused"),
            (["train", "--data", csv.path, "--text-column", "문장"], "문장"),
            (["train", "--batch-size", "0", "--epochs", "1"], "batch size 0"),
            (["train", "--encoding", "latin1"], "latin1"),
            (["train", "--data", Self.workbook("corrupt.xlsx").path], "corrupt.xlsx: not a readable .xlsx"),
            (["train", "--data", Self.workbook("shared-strings.xlsx").path, "--sheet", "없는 시트"], "no sheet \"없는 시트\""),
            (["train", "--data", Self.workbook("bad-shared-index.xlsx").path], "sheet \"Sheet1\" row 2 cell A2"),
            (["predict", "안녕"], "no model given"),
            (["predict", "--model", dir.path, "안녕"], "config.json"),
            (["check-parity", "--model", dir.path, "--reference", csv.path], "config.json"),
        ]
        for (args, needle) in cases {
            let r = try Self.run(args, cache: dir)
            #expect(r.status != 0, "\(args) exited 0")
            #expect(r.stderr.contains(needle), "\(args): stderr does not mention \(needle): \(r.stderr)")
        }
        // --skip-invalid trains on the rest and says how many rows it skipped (too few rows to split here).
        let r = try Self.run(["train", "--data", csv.path, "--skip-invalid", "--epochs", "1"], cache: dir)
        #expect(r.status != 0 && r.stderr.contains("after skipping 2 invalid rows"), "\(r.stdout)\(r.stderr)")
    }

    @Test func trainThenPredictOnTheBuiltInSample() throws {
        let dir = try Self.tempDir()
        let train = try Self.run(["train", "--epochs", "1", "--scratch-shape", "16,1,2,24", "--max-len", "32", "-o", "m"], cache: dir)
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("epoch 1 test acc"))
        #expect(train.stdout.contains("not seen in training"))
        // predict uses the last model trained; the seed's interactive loop ends at "0".
        let loop = try Self.run(["predict"], stdin: "오늘 너무 즐거웠어\n0\n", cache: dir)
        #expect(loop.status == 0, "\(loop.stderr)")
        #expect(loop.stdout.contains("하고싶은 말을 입력해주세요 : "))
        #expect(loop.stdout.contains(">> 입력하신 내용에서 ") && loop.stdout.contains(" 느껴집니다."))
        let json = try Self.run(["predict", "--json", "오늘 너무 즐거웠어"], cache: dir)
        // Probabilities in the model's label order (fear, surprise, ...), not alphabetical.
        let order = ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"]
        let positions = order.map { json.stdout.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil } && positions.map { $0! } == positions.map { $0! }.sorted(), "\(json.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let probs = try #require(object["probabilities"] as? [String: Double])
        #expect(Set(probs.keys) == ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"])
        #expect(abs(probs.values.reduce(0, +) - 1) < 1e-5)
        #expect((object["text"] as? String)?.unicodeScalars.elementsEqual("오늘 너무 즐거웠어".unicodeScalars) == true)
        // A file of lines, in batches, written atomically.
        let lines = dir.appendingPathComponent("in.txt")
        try Data("하나\n둘\n\n셋\n".utf8).write(to: lines)
        let file = try Self.run(["predict", "--input", lines.path, "--output", dir.appendingPathComponent("out.jsonl").path, "--batch-size", "2"], cache: dir)
        #expect(file.status == 0, "\(file.stderr)")
        let written = try String(contentsOf: dir.appendingPathComponent("out.jsonl"), encoding: .utf8)
        #expect(written.split(separator: "\n").count == 3)
        // The text column of an .xlsx sheet (Sentence, the fallback for 발화문).
        let xlsx = try Self.run(["predict", "--input", Self.workbook("shared-strings.xlsx").path, "--sheet", "Second"], cache: dir)
        #expect(xlsx.status == 0, "\(xlsx.stderr)")
        let texts = xlsx.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts.map { Array($0.unicodeScalars) } == ["깜짝이야", "역겨워"].map { Array($0.unicodeScalars) })
        let tok = try Self.run(["tokenize", "--json", "한국어"], cache: dir)
        #expect(tok.stdout.contains("\"ids\":[2,") && tok.stdout.contains(",3]") && tok.stdout.contains("\"truncated\":false"))
        // The model above was trained with --max-len 32: tokenize cuts as training did, and says so.
        let long = String(repeating: "길에서 큰 개가 짖어서 너무 무서웠어 ", count: 6)
        let cut = try Self.run(["tokenize", "--json", long], cache: dir)
        let cutObject = try #require(try JSONSerialization.jsonObject(with: Data(cut.stdout.utf8)) as? [String: Any])
        #expect((cutObject["ids"] as? [Int])?.count == 32 && cutObject["truncated"] as? Bool == true, "\(cut.stdout)")
        #expect(cut.stderr.contains("the model sees the first 30"), "\(cut.stderr)")
        let wide = try Self.run(["tokenize", "--json", "--max-len", "200", long], cache: dir)
        #expect(wide.stdout.contains("\"truncated\":false"), "\(wide.stdout)")
        let eval = try Self.run(["evaluate", "--json"], cache: dir)
        #expect(eval.status == 0 && eval.stdout.contains("macroF1"), "\(eval.stderr)")
        // The baseline was fitted beside BERT: the log compares them, evaluate re-scores it.
        #expect(train.stdout.contains("baseline test accuracy") && train.stdout.contains("character n-gram baseline"), "\(train.stdout)")
        let evalText = try Self.run(["evaluate"], cache: dir)
        #expect(evalText.status == 0 && evalText.stdout.contains("character n-gram baseline, all test sentences"), "\(evalText.stdout)")
    }

    @Test func theLinearClassifierTrainsAndPredictsAlone() throws {
        let dir = try Self.tempDir()
        let train = try Self.run(["train", "--classifier", "linear", "-o", "lin"], cache: dir)
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("character 1-4-grams") && train.stdout.contains("test accuracy"), "\(train.stdout)")
        let predict = try Self.run(["predict", "--model", "lin", "--json", "오늘 정말 행복한 하루였어"], cache: dir)
        #expect(predict.status == 0 && predict.stdout.contains("\"probabilities\":{\"fear\":"), "\(predict.stdout)\(predict.stderr)")
        let eval = try Self.run(["evaluate", "--model", "lin", "--all-rows", "--data", dir.appendingPathComponent("lin/../lin/report.json").path], cache: dir)
        #expect(eval.status != 0)   // a JSON file is not a dataset: a clear error, not a crash
        let tokenize = try Self.run(["tokenize", "--model", "lin", "안녕"], cache: dir)
        #expect(tokenize.status != 0 && tokenize.stderr.contains("not a BERT model"), "\(tokenize.stderr)")
        // serve answers with it (Tests/EmotionServerTests/LinearModelTests.swift starts the command).
    }
}

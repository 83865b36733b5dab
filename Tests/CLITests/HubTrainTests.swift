import EmotionClassifier
import Foundation
import HubTestSupport
import Testing

/// `train --model owner/name` end to end, as a user runs it: the real `kobert-emotion` binary, its
/// `HF_ENDPOINT` pointing at the in-process fake Hub (Tests/HubTestSupport) serving `test/kobert-tiny`,
/// a small model laid out like skt/kobert-base-v1 (plain BertModel as zip pytorch_model.bin with a
/// pre-training head, spiece.model, tokenizer_config.json naming XLNetTokenizer).
///
/// Set `KOBERT_E2E_MODEL_DIR` to keep the fine-tuned model there (for Scripts/check_pytorch_load.py).
@Suite(.timeLimit(.minutes(10)))
struct HubTrainTests {
    /// 70 sentences written apart from the built-in sample, 10 per emotion.
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples/eval-sentences.csv").standardizedFileURL
    static let sentences = ["오늘 정말 행복한 하루였어", "길에서 큰 개가 짖어서 너무 무서웠어", "그 사람 말투가 너무 역겨워", "그냥 평범한 하루였어요"]

    /// Runs the tool in `directory` off Swift's cooperative threads (the fake Hub answers meanwhile).
    static func run(_ args: [String], in directory: URL, environment: [String: String]) async throws -> CLITests.Result {
        try await withCheckedThrowingContinuation { continuation in
            // Threads of its own for the blocking waits: neither the cooperative threads nor
            // Dispatch's global queues are held while the tool runs.
            Thread.detachNewThread {
                do {
                    let p = Process()
                    p.executableURL = CLITests.binary
                    p.arguments = args
                    var env = ProcessInfo.processInfo.environment
                    for key in env.keys where key.hasPrefix("HF_") { env[key] = nil }
                    p.environment = env.merging(environment) { $1 }
                    p.currentDirectoryURL = directory
                    let out = Pipe(), err = Pipe()
                    p.standardOutput = out
                    p.standardError = err
                    p.standardInput = FileHandle.nullDevice
                    try p.run()
                    // Standard error on another thread: neither pipe can fill up and block the tool.
                    let box = ErrorBox()
                    let done = DispatchSemaphore(value: 0)
                    Thread.detachNewThread { box.data = err.fileHandleForReading.readDataToEndOfFile(); done.signal() }
                    let o = out.fileHandleForReading.readDataToEndOfFile()
                    done.wait()
                    p.waitUntilExit()
                    continuation.resume(returning: CLITests.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                                                                   stderr: String(decoding: box.data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    final class ErrorBox: @unchecked Sendable { var data = Data() }

    static func lines(_ text: String, containing needle: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.contains(needle) }
    }

    @Test func trainDownloadsAKoBERTLikeRepositoryFineTunesItAndTheResultPredictsAsTheLibraryDoes() async throws {
        let dir = try CLITests.tempDir()
        let cache = dir.appendingPathComponent("hub")
        let kept = ProcessInfo.processInfo.environment["KOBERT_E2E_MODEL_DIR"].map { URL(fileURLWithPath: $0) }
        let output = kept ?? dir.appendingPathComponent("tuned")
        try await FakeHub().run { hub in
            let env = ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": cache.path, "XDG_CACHE_HOME": dir.path]
            let common = ["--data", Self.data.path, "--epochs", "1", "--batch-size", "16", "--max-len", "32", "--no-baseline"]
            let train = try await Self.run(["train", "--model", TinyKoBERT.repo, "-o", output.path] + common, in: dir, environment: env)
            #expect(train.status == 0, "\(train.stdout)\(train.stderr)")

            // Downloaded in huggingface_hub's layout: the files the model needs, not README.md.
            let snapshot = cache.appendingPathComponent("models--test--kobert-tiny/snapshots/\(hub.commit)")
            for name in TinyKoBERT.regularFiles + TinyKoBERT.lfsFiles {
                let cached = FileManager.default.contents(atPath: snapshot.appendingPathComponent(name).path)
                #expect(cached == TinyKoBERT.file(name), "\(name)")
                #expect(!TinyKoBERT.file(name).isEmpty, "fixture \(name) missing")
            }
            #expect(!FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("README.md").path))
            #expect(train.stderr.contains("downloaded pytorch_model.bin"), "\(train.stderr)")
            let files = Set(hub.log.filter { $0.method == "GET" && !$0.path.hasPrefix("/api/") }.map { $0.path.split(separator: "/").last.map(String.init) ?? "" })
            #expect(files.isSuperset(of: TinyKoBERT.regularFiles), "\(hub.log.map(\.path))")

            // The log says which token pipeline and why; the unused pre-training head in one line;
            // the fresh classifier head.
            let out = train.stdout
            #expect(out.contains("tokens: gluonnlp (the seed's pipeline; tokenizer_config.json names XLNetTokenizer,") && out.contains("so it is not followed)"), "\(out)")
            let unused = Self.lines(out, containing: "not used")
            #expect(unused.count == 1 && unused.first?.contains("2 checkpoint tensors not used") == true
                    && unused.first?.contains("cls.predictions.bias") == true && unused.first?.contains("cls.seq_relationship.weight") == true, "\(out)")
            #expect(out.contains("model: a plain BertModel checkpoint; the classifier head starts fresh"), "\(out)")
            #expect(out.contains("model: \(snapshot.path)"), "\(out)")
            #expect(out.contains("epoch 1 test acc") && out.contains("saved model to \(output.path)"), "\(out)")

            // A model directory in the layout transformers loads, recording the pipeline; the spiece.model
            // is the Hub's.
            let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
            #expect(config["tokenizer_pipeline"] as? String == "gluonnlp")
            #expect((config["architectures"] as? [String]) == ["BertForSequenceClassification"], "\(config)")
            #expect(config["vocab_size"] as? Int == 1000 && config["hidden_size"] as? Int == 16)
            #expect(FileManager.default.contents(atPath: output.appendingPathComponent("spiece.model").path) == TinyKoBERT.file("spiece.model"))

            // predict through the tool agrees with the library on the same directory.
            let predict = try await Self.run(["predict", "--model", output.path, "--json"] + Self.sentences, in: dir, environment: env)
            #expect(predict.status == 0, "\(predict.stderr)")
            let printed = predict.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let model = try EmotionModel.load(directory: output)
            let library = try model.predict(Self.sentences)
            try #require(printed.count == library.count, "\(predict.stdout)")
            for (p, l) in zip(printed, library) {
                #expect(p["label"] as? String == l.label)
                let probs = try #require(p["probabilities"] as? [String: Double])
                for (name, value) in zip(model.labels.names, l.probabilities) {
                    #expect(abs((probs[name] ?? -1) - Double(value)) <= 1e-6, "\(name): \(probs[name] ?? -1) vs \(value)")
                }
            }
            // Not a degenerate model (all near 1/7), so the agreement above means something.
            let spread = zip(library[0].probabilities, library[1].probabilities).map { abs($0 - $1) }.max() ?? 0
            #expect(spread > 1e-3, "\(library.map(\.probabilities))")

            // A second run finds the model in the cache: by branch only the revision lookup (as
            // huggingface_hub does), by commit or offline no request at all.
            hub.clearLog()
            let again = try await Self.run(["train", "--model", TinyKoBERT.repo, "-o", dir.appendingPathComponent("again").path] + common, in: dir, environment: env)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(hub.log.map(\.path) == ["/api/models/test/kobert-tiny/revision/main"], "\(hub.log.map(\.path))")
            #expect(!again.stderr.contains("downloaded"), "\(again.stderr)")
            hub.clearLog()
            let pinned = try await Self.run(["train", "--model", "\(TinyKoBERT.repo)@\(hub.commit)", "-o", dir.appendingPathComponent("pinned").path] + common,
                                            in: dir, environment: env)
            #expect(pinned.status == 0, "\(pinned.stderr)")
            #expect(hub.log.isEmpty, "\(hub.log.map(\.path))")
            hub.clearLog()
            let offline = try await Self.run(["train", "--model", TinyKoBERT.repo, "-o", dir.appendingPathComponent("offline").path] + common,
                                             in: dir, environment: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
            #expect(offline.status == 0, "\(offline.stderr)")
            #expect(hub.log.isEmpty, "\(hub.log.map(\.path))")
        }
    }

    /// The other commands against the fake Hub: `download` prints the snapshot; `tokenize --model
    /// owner/name` uses the repository's spiece.model; `predict --model owner/name` of a plain
    /// BertModel is refused (no classifier head) rather than run with a random one; a gated
    /// repository says what to do and never prints the token.
    @Test func otherCommandsTakeARepositoryIdAndAGatedOneNeverPrintsTheToken() async throws {
        let dir = try CLITests.tempDir()
        let cache = dir.appendingPathComponent("hub")
        try await FakeHub().run { hub in
            let env = ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": cache.path, "XDG_CACHE_HOME": dir.path]
            let snapshot = cache.appendingPathComponent("models--test--kobert-tiny/snapshots/\(hub.commit)")
            let download = try await Self.run(["download", TinyKoBERT.repo], in: dir, environment: env)
            #expect(download.status == 0, "\(download.stderr)")
            #expect(download.stdout == snapshot.path + "\n", "\(download.stdout)")
            for name in TinyKoBERT.lfsFiles {
                #expect(download.stderr.contains("downloaded \(name)"), "\(download.stderr)")
            }

            hub.clearLog()
            let tokens = try await Self.run(["tokenize", "--model", TinyKoBERT.repo, "--json", "오늘 너무 즐거웠어"], in: dir, environment: env)
            #expect(tokens.status == 0, "\(tokens.stderr)")
            #expect(hub.log.map(\.path) == ["/api/models/test/kobert-tiny/revision/main"], "\(hub.log.map(\.path))")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(tokens.stdout.utf8)) as? [String: Any], "\(tokens.stdout)")
            let ids = try #require(object["ids"] as? [Int])
            // [CLS] first and [SEP] last (the gluonnlp pipeline, not XLNet's order), ids within the
            // repository's 1,000 pieces, and the sentence's pieces known to its spiece.model.
            #expect(ids.first == 2 && ids.last == 3 && ids.allSatisfy { $0 >= 0 && $0 < 1000 }, "\(ids)")
            #expect(ids.count > 3 && !ids.dropFirst().dropLast().contains(0), "\(ids)")

            let predict = try await Self.run(["predict", "--model", TinyKoBERT.repo, "안녕"], in: dir, environment: env)
            #expect(predict.status != 0)
            #expect(predict.stderr.contains("no classifier head") && predict.stderr.contains("pytorch_model.bin"), "\(predict.stderr)")

            hub.requiredToken = "hf_e2e_secret_token"
            let fresh = dir.appendingPathComponent("hub2").path
            let denied = try await Self.run(["download", TinyKoBERT.repo], in: dir,
                                            environment: env.merging(["HF_HUB_CACHE": fresh, "HF_TOKEN": "hf_e2e_wrong_token"]) { $1 })
            #expect(denied.status != 0)
            #expect(denied.stderr.contains("access to test/kobert-tiny denied (HTTP 401)") && denied.stderr.contains("HF_TOKEN"), "\(denied.stderr)")
            #expect(!(denied.stdout + denied.stderr).contains("hf_e2e_wrong_token"))
            let allowed = try await Self.run(["download", TinyKoBERT.repo], in: dir,
                                             environment: env.merging(["HF_HUB_CACHE": fresh, "HF_TOKEN": "hf_e2e_secret_token"]) { $1 })
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(!(allowed.stdout + allowed.stderr).contains("hf_e2e_secret_token"))
        }
    }
}

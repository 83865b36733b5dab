import FuzzSupport
import Foundation
import Testing

/// Issue #12: hostile model files never make the tool allocate beyond a bound. Each case runs
/// `kobert-emotion predict` in a child process whose address space is capped (`ulimit -v`, 1.5 GB; a
/// normal run of this tiny model needs well under 1 GB): an allocation sized from a forged field before
/// it was checked would fail there and kill the process with a signal. Every case must end with an
/// exit status (0, or a clean error), never a signal.
struct AllocationBoundTests {
    static let limitKiB = 1_500_000

    static func predict(model: URL, cache: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -v \(limitKiB); exec \"$0\" predict --model \"$1\" 안녕", CLITests.binary.path, model.path]
        p.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cache.path]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p
    }

    @Test func forgedSizesAndMutatedWeightsStayWithinTheBound() throws {
        let dir = try SafetyCLITests.trained.get()
        let model = dir.appendingPathComponent("m")
        // The unmodified model loads under the cap (so the cap does not fail every case by itself).
        let clean = try Self.predict(model: model, cache: dir)
        #expect(clean.terminationReason == .exit && clean.terminationStatus == 0)

        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as? [String: Any])
        let weights = [UInt8](try Data(contentsOf: model.appendingPathComponent("model.safetensors")))
        var cases: [(String, [String: Any], [UInt8])] = []
        // Sizes within every per-field limit whose model would need gigabytes: refused before allocating.
        let forged: [[String: Any]] = [
            ["vocab_size": 1 << 20, "hidden_size": 512, "num_attention_heads": 2],
            ["max_position_embeddings": 1 << 16, "hidden_size": 8192, "num_attention_heads": 2],
            ["intermediate_size": 1 << 16, "hidden_size": 4096, "num_attention_heads": 2, "num_hidden_layers": 8],
            ["num_hidden_layers": 256, "hidden_size": 2048, "num_attention_heads": 2],
            ["max_len": 1 << 16], ["vocab_size": 100_000_000], ["hidden_size": 1_000_000_000],
        ]
        for (i, fields) in forged.enumerated() { cases.append(("forged config \(i)", config.merging(fields) { $1 }, weights)) }
        for (i, bytes) in Mutator.cases(of: weights, count: 24, seed: 0x5eed) {
            cases.append(("mutated weights \(i)", config, bytes))
        }
        for (name, object, bytes) in cases {
            let caseDir = dir.appendingPathComponent("bound-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: model, to: caseDir)
            try JSONSerialization.data(withJSONObject: object).write(to: caseDir.appendingPathComponent("config.json"))
            try Data(bytes).write(to: caseDir.appendingPathComponent("model.safetensors"))
            let p = try Self.predict(model: caseDir, cache: dir)
            #expect(p.terminationReason == .exit, "\(name): killed by signal \(p.terminationStatus)")
            try? FileManager.default.removeItem(at: caseDir)
        }
    }
}

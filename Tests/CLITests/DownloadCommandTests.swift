import Foundation
import HubTestSupport
import Testing

/// `download` and `--model owner/name` as a user runs them, against a cache written by Python's
/// huggingface_hub (Tests/HubTestSupport/Fixtures) in offline mode: no network involved.
struct DownloadCommandTests {
    static let fixture = Fixture.folder

    /// The tool with the Hub variables of this process removed (HubTrainTests.run, off the cooperative threads).
    static func run(_ args: [String], environment: [String: String]) async throws -> CLITests.Result {
        try await HubTrainTests.run(args, in: FileManager.default.temporaryDirectory, environment: environment)
    }

    @Test func downloadPrintsTheSnapshotOfACachedModelOfflineAndModelTakesRepositoryIds() async throws {
        let dir = try CLITests.tempDir()
        let cache = dir.appendingPathComponent("hub")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture, to: cache.appendingPathComponent("models--skt--kobert-base-v1"))
        let commit = try String(contentsOf: Self.fixture.appendingPathComponent("refs/main"), encoding: .utf8)
        let env = ["HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:1", "XDG_CACHE_HOME": dir.path]

        let ok = try await Self.run(["download", "skt/kobert-base-v1"], environment: env)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == cache.appendingPathComponent("models--skt--kobert-base-v1/snapshots/\(commit)").path + "\n")

        let missing = try await Self.run(["download", "skt/other@v2"], environment: env)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("skt/other@v2") && missing.stderr.contains("HF_HUB_OFFLINE"), "\(missing.stderr)")

        let invalid = try await Self.run(["download", "../etc/passwd"], environment: env)
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("owner/name"), "\(invalid.stderr)")

        // --model goes through the same resolution (here: not cached, offline).
        let predict = try await Self.run(["predict", "--model", "skt/other", "안녕"], environment: env)
        #expect(predict.status != 0)
        #expect(predict.stderr.contains("skt/other@main"), "\(predict.stderr)")
        let parity = try await Self.run(["check-parity", "--model", "skt/other", "--reference", "ref.safetensors"], environment: env)
        #expect(parity.status != 0)
        #expect(parity.stderr.contains("skt/other@main"), "\(parity.stderr)")
    }

    @Test func downloadWithoutNetworkUsesACachedRevisionWithoutItsOptionalFiles() async throws {
        // As Python's snapshot_download leaves a repository without special_tokens_map.json: no `.no_exist`.
        let dir = try CLITests.tempDir()
        let cache = dir.appendingPathComponent("hub")
        let folder = cache.appendingPathComponent("models--skt--kobert-base-v1")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture, to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent(".no_exist"))
        let commit = try String(contentsOf: Self.fixture.appendingPathComponent("refs/main"), encoding: .utf8)
        let env = ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": "http://127.0.0.1:1", "XDG_CACHE_HOME": dir.path, "HF_HUB_ETAG_TIMEOUT": "2"]
        for reference in ["skt/kobert-base-v1@\(commit)", "skt/kobert-base-v1"] {
            let r = try await Self.run(["download", reference], environment: env)
            #expect(r.status == 0, "\(reference): \(r.stderr)")
            #expect(r.stdout == folder.appendingPathComponent("snapshots/\(commit)").path + "\n", "\(reference)")
        }
    }

    @Test func downloadWithoutNetworkSaysHowToGoOn() async throws {
        let dir = try CLITests.tempDir()
        let env = ["HF_HUB_CACHE": dir.path, "HF_ENDPOINT": "http://127.0.0.1:1", "XDG_CACHE_HOME": dir.path, "HF_HUB_ETAG_TIMEOUT": "2"]
        let r = try await Self.run(["download", "skt/kobert-base-v1"], environment: env)
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot reach http://127.0.0.1:1") && r.stderr.contains("HF_HUB_OFFLINE"), "\(r.stderr)")
    }
}

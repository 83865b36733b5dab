import Foundation
import HubTestSupport
import TestExecutors
import Testing

@testable import HubClient

/// Downloads against the in-process fake Hub (Tests/HubTestSupport/FakeHub.swift) into temporary caches.
@Suite(.timeLimit(.minutes(10)))
struct HubClientDownloadTests {
    static let repo = try! RepoID(Fixture.repo)

    static func tempCache() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("HubClientTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func client(_ hub: FakeHub, cache: URL, token: String? = nil, offline: Bool = false) throws -> HubClient {
        var config = try HubConfiguration(endpoint: hub.endpoint, cacheDirectory: cache, token: token, offline: offline)
        config.requestTimeout = 120   // generous: other suites may hold this process's threads
        config.readTimeout = 120
        return HubClient(configuration: config)
    }

    /// Every file under `root` (relative path -> symlink target or content), the way `find` sees it.
    static func tree(_ root: URL, under sub: String) -> [String: String] {
        var out: [String: String] = [:]
        let base = root.appendingPathComponent(sub)
        guard let e = FileManager.default.enumerator(atPath: base.path) else { return out }
        while let rel = e.nextObject() as? String {
            let path = base.appendingPathComponent(rel).path
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                out["\(sub)/\(rel)"] = "-> " + target
            } else if let data = FileManager.default.contents(atPath: path) {
                out["\(sub)/\(rel)"] = sha256Hex(data)
            }
        }
        return out
    }

    @Test func firstDownloadFillsTheCacheInHuggingFaceHubsLayout() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let snapshot = try await Self.client(hub, cache: cache).download(Self.repo, revision: "main")
            let folder = cache.appendingPathComponent("models--skt--kobert-base-v1")
            #expect(snapshot.path == folder.appendingPathComponent("snapshots/\(hub.commit)").path)
            // Same blobs (named by ETag), same relative symlinks, same refs/main as Python's huggingface_hub wrote.
            for sub in ["blobs", "snapshots", "refs"] {
                #expect(Self.tree(folder, under: sub) == Self.tree(Fixture.folder, under: sub), "\(sub)")
            }
            #expect(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8) == hub.commit)
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(".no_exist/\(hub.commit)/special_tokens_map.json").path))
            for name in ["config.json", "pytorch_model.bin", "spiece.model", "tokenizer_config.json"] {
                #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent(name).path) == hub.files[name]?.data, "\(name)")
            }
            #expect(!FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("README.md").path))
            let sha = sha256Hex(hub.files["pytorch_model.bin"]!.data)
            #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent(".locks/models--skt--kobert-base-v1/\(sha).lock").path))
            // One lookup, a HEAD per file, a GET per file (LFS files from the CDN path).
            let log = hub.log
            #expect(log.filter { $0.path.hasPrefix("/api/") }.count == 1)
            #expect(log.filter { $0.method == "HEAD" }.count == 4)
            #expect(log.filter { $0.method == "GET" && $0.path.hasPrefix("/cdn/") }.count == 2)
            #expect(log.filter { $0.method == "GET" && $0.path.contains("/resolve/") }.count == 2)
        }
    }

    @Test func secondRunMakesNoRequestForACommitAndOnlyTheLookupForABranch() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let client = try Self.client(hub, cache: cache)
            let first = try await client.download(Self.repo, revision: "main")
            hub.clearLog()
            let byCommit = try await client.download(Self.repo, revision: hub.commit)
            #expect(byCommit == first)
            #expect(hub.log.isEmpty)
            let byBranch = try await client.download(Self.repo, revision: "main")
            #expect(byBranch == first)
            #expect(hub.log.map(\.path) == ["/api/models/skt/kobert-base-v1/revision/main"])
        }
    }

    @Test func aCacheFilledByPythonIsUsedWithNoRequest() async throws {
        let cache = try Self.tempCache()
        try FileManager.default.copyItem(at: Fixture.folder, to: cache.appendingPathComponent("models--skt--kobert-base-v1"))
        try await FakeHub().run { hub in
            let client = try Self.client(hub, cache: cache)
            let snapshot = try await client.download(Self.repo, revision: hub.commit)
            #expect(hub.log.isEmpty)
            #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path) == hub.files["pytorch_model.bin"]?.data)
            _ = try await client.download(Self.repo, revision: "main")
            #expect(hub.log.map(\.method) == ["GET"])
            #expect(hub.log.allSatisfy { $0.path.hasPrefix("/api/") })
            let offline = try Self.client(hub, cache: cache, offline: true)
            hub.clearLog()
            #expect(try await offline.download(Self.repo, revision: "main") == snapshot)
            #expect(hub.log.isEmpty)
        }
    }

    @Test func aShardedCheckpointBringsItsIndexAndEveryShardItLists() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let files = hub.repos["test/sharded"]!
            let client = try Self.client(hub, cache: cache)
            let snapshot = try await client.download(try RepoID("test/sharded"))
            for name in ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
                #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent(name).path) == files[name]?.data, "\(name)")
            }
            #expect(!FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path))
            #expect(hub.log.filter { $0.path.hasPrefix("/cdn/") }.count == 2)
            // Complete for a later run by commit: no request (tokenizer files recorded as absent).
            hub.clearLog()
            #expect(try await client.download(try RepoID("test/sharded"), revision: hub.commit) == snapshot)
            #expect(hub.log.isEmpty)
        }
    }

    @Test func aFileLargerThanTheFreeSpaceIsRefusedBeforeDownloading() async throws {
        let cache = try Self.tempCache()
        // test/huge declares 1 TiB, the largest size accepted: more than this disk has, unless it is huge.
        if let free = availableBytes(at: cache), free >= 1 << 40 { return }
        try await FakeHub().run { hub in
            do {
                _ = try await Self.client(hub, cache: cache).download(try RepoID("test/huge"))
                Issue.record("expected an error")
            } catch let error as HubError {
                guard case .diskFull(_, let needed, _) = error else { Issue.record("\(error)"); return }
                #expect(needed == 1 << 40)
                #expect(error.description.contains("HF_HUB_CACHE"))
            }
            #expect(!hub.log.contains { $0.path.hasPrefix("/cdn/") })
            let blobs = cache.appendingPathComponent("models--test--huge/blobs")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []).allSatisfy { !$0.hasSuffix(".incomplete") })
        }
    }

    @Test func anImplausibleDeclaredSizeIsRefusedAsSuchNotAsAFullDisk() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            do {
                _ = try await Self.client(hub, cache: cache).download(try RepoID("test/forged"))
                Issue.record("expected an error")
            } catch let error as HubError {
                guard case .badResponse(let what, let reason) = error else { Issue.record("\(error)"); return }
                #expect(what.hasPrefix("model.safetensors of test/forged@"))
                #expect(reason.contains("implausible size of 1000000000000000 bytes for model.safetensors"), "\(reason)")
            }
            #expect(!hub.log.contains { $0.path.hasPrefix("/cdn/") })
        }
    }

    @Test func moreBytesThanTheHubDeclaredAreRefused() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            do {
                _ = try await Self.client(hub, cache: cache).download(try RepoID("test/liar"))
                Issue.record("expected an error")
            } catch let error as HubError {
                guard case .badResponse(let what, _) = error else { Issue.record("\(error)"); return }
                #expect(what == "model.safetensors")
            }
            let blobs = cache.appendingPathComponent("models--test--liar/blobs")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []
            #expect(names.allSatisfy { $0.hasSuffix(".incomplete") || $0.count == 40 }, "\(names)")  // only config.json's blob
        }
    }

    @Test func anInterruptedTransferResumesWithARangeRequest() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.cutNext("pytorch_model.bin")
            let data = hub.files["pytorch_model.bin"]!.data
            let snapshot = try await Self.client(hub, cache: cache).download(Self.repo)
            #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path) == data)
            let cdn = hub.log.filter { $0.path == "/cdn/\(sha256Hex(data))" }
            #expect(cdn.count == 2)
            #expect(cdn.first?.range == nil)
            // Resumed from what arrived before the cut (at most the half the server sent), not restarted.
            let start = cdn.last?.range.flatMap { Int($0.dropFirst(6).dropLast()) } ?? 0
            #expect(start > 0 && start <= data.count / 2, "\(cdn.last?.range ?? "no range")")
        }
    }

    @Test func aLeftoverIncompleteFileIsResumed() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let data = hub.files["pytorch_model.bin"]!.data
            let sha = sha256Hex(data)
            let blobs = cache.appendingPathComponent("models--skt--kobert-base-v1/blobs")
            try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
            try data.prefix(1000).write(to: blobs.appendingPathComponent("\(sha).incomplete"))
            let snapshot = try await Self.client(hub, cache: cache).download(Self.repo)
            #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path) == data)
            #expect(hub.log.filter { $0.path == "/cdn/\(sha)" }.map(\.range) == ["bytes=1000-"])
            #expect(!FileManager.default.fileExists(atPath: blobs.appendingPathComponent("\(sha).incomplete").path))
        }
    }

    @Test func aCorruptedByteIsDetectedAndTheFileDownloadedAgain() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.corruptNext("pytorch_model.bin")
            let data = hub.files["pytorch_model.bin"]!.data
            let snapshot = try await Self.client(hub, cache: cache).download(Self.repo)
            #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path) == data)
            let cdn = hub.log.filter { $0.path == "/cdn/\(sha256Hex(data))" }
            #expect(cdn.count == 2)
            #expect(cdn.allSatisfy { $0.range == nil })
        }
    }

    @Test func corruptionTwiceIsAnErrorAndLeavesNoBlob() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.corruptNext("pytorch_model.bin", times: 2)
            let sha = sha256Hex(hub.files["pytorch_model.bin"]!.data)
            await #expect(throws: HubError.self) { try await Self.client(hub, cache: cache).download(Self.repo) }
            do {
                _ = try await Self.client(hub, cache: cache).download(Self.repo)
            } catch {}
            let blobs = cache.appendingPathComponent("models--skt--kobert-base-v1/blobs")
            #expect(FileManager.default.fileExists(atPath: blobs.appendingPathComponent(sha).path))  // third try was clean
            hub.corruptNext("spiece.model", times: 2)
            let other = try Self.tempCache()
            do {
                _ = try await Self.client(hub, cache: other).download(Self.repo)
                Issue.record("expected a checksum error")
            } catch let error as HubError {
                guard case .checksumMismatch(let file, _, _) = error else { Issue.record("\(error)"); return }
                #expect(file == "spiece.model")
            }
            let spiece = sha256Hex(hub.files["spiece.model"]!.data)
            let otherBlobs = other.appendingPathComponent("models--skt--kobert-base-v1/blobs")
            #expect(!FileManager.default.fileExists(atPath: otherBlobs.appendingPathComponent(spiece).path))
            #expect(!FileManager.default.fileExists(atPath: otherBlobs.appendingPathComponent(spiece + ".incomplete").path))
        }
    }

    @Test func offlineModeUsesOnlyTheCacheAndNamesWhatIsMissing() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let offline = try Self.client(hub, cache: cache, offline: true)
            do {
                _ = try await offline.download(Self.repo, revision: "v1.0")
                Issue.record("expected an error")
            } catch let error as HubError {
                #expect(error.description.contains("skt/kobert-base-v1@v1.0"))
                #expect(error.description.contains("HF_HUB_OFFLINE"))
            }
            #expect(hub.log.isEmpty)
            _ = try await Self.client(hub, cache: cache).download(Self.repo)
            hub.clearLog()
            _ = try await offline.download(Self.repo, revision: "main")
            _ = try await offline.download(Self.repo, revision: hub.commit)
            #expect(hub.log.isEmpty)
        }
    }

    @Test func notFoundAndAccessErrorsNameWhatFailed() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let client = try Self.client(hub, cache: cache)
            await #expect(throws: HubError.repositoryNotFound(repo: "skt/nope", endpoint: hub.endpoint.absoluteString, tokenSent: false)) {
                try await client.download(try RepoID("skt/nope"))
            }
            await #expect(throws: HubError.revisionNotFound(repo: "skt/kobert-base-v1", revision: "v9")) {
                try await client.download(Self.repo, revision: "v9")
            }
            hub.requiredToken = "hf_secret_token_value"
            await #expect(throws: HubError.accessDenied(repo: "skt/kobert-base-v1", status: 401, tokenSent: false, gated: true)) {
                try await client.download(Self.repo)
            }
            do {
                _ = try await Self.client(hub, cache: cache, token: "hf_wrong_token_value").download(Self.repo)
                Issue.record("expected an error")
            } catch let error as HubError {
                #expect(error == .accessDenied(repo: "skt/kobert-base-v1", status: 401, tokenSent: true, gated: true))
                #expect(!error.description.contains("hf_wrong_token_value"))
            }
        }
    }

    @Test func resolveModelDownloadsARepositoryOrSaysNeitherPathNorRepositoryExists() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let config = try HubConfiguration(endpoint: hub.endpoint, cacheDirectory: cache)
            let snapshot = try await HubClient.resolveModel("skt/kobert-base-v1@\(hub.commit)", configuration: config)
            #expect(snapshot.path == cache.appendingPathComponent("models--skt--kobert-base-v1/snapshots/\(hub.commit)").path)
            do {
                _ = try await HubClient.resolveModel("models/kobert", configuration: config)
                Issue.record("expected an error")
            } catch let error as HubError {
                #expect(error.description.contains("no such local path") && error.description.contains("repository models/kobert not found"), "\(error)")
            }
        }
    }

    @Test func theTokenGoesToTheHubButNotToTheCDN() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.requiredToken = "hf_secret_token_value"
            _ = try await Self.client(hub, cache: cache, token: "hf_secret_token_value").download(Self.repo)
            let log = hub.log
            #expect(log.filter { $0.path.hasPrefix("/cdn/") }.count == 2)
            for entry in log {
                if entry.path.hasPrefix("/cdn/") {
                    #expect(entry.authorization == nil, "\(entry.path)")
                } else {
                    #expect(entry.authorization == "Bearer hf_secret_token_value", "\(entry.path)")
                }
            }
        }
    }

    @Test func aRenamedRepositorysRelativeRedirectIsFollowedWithTheToken() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.requiredToken = "hf_secret_token_value"
            let snapshot = try await Self.client(hub, cache: cache, token: "hf_secret_token_value").download(try RepoID("skt/old-name"))
            #expect(snapshot.path.contains("models--skt--old-name/snapshots/\(hub.commit)"))
            #expect(hub.log.contains { $0.path.hasPrefix("/skt/old-name/resolve/") })
            #expect(hub.log.filter { $0.path.hasPrefix("/skt/kobert-base-v1/") }.allSatisfy { $0.authorization == "Bearer hf_secret_token_value" })
        }
    }

    @Test func anAbsoluteRedirectToTheHubsOwnHostIsTheFilesMetadataNotFollowedOnHEAD() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.lfsOnHubHost = true
            hub.requiredToken = "hf_secret_token_value"
            let snapshot = try await Self.client(hub, cache: cache, token: "hf_secret_token_value").download(Self.repo)
            for name in ["pytorch_model.bin", "spiece.model"] {
                #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent(name).path) == hub.files[name]?.data, "\(name)")
            }
            let log = hub.log
            #expect(!log.contains { $0.method == "HEAD" && $0.path.hasPrefix("/cdn/") })
            // The bytes come from the redirect's Location: the Hub's own host, so with the token.
            let cdn = log.filter { $0.path.hasPrefix("/cdn/") }
            #expect(cdn.count == 2 && cdn.allSatisfy { $0.method == "GET" && $0.authorization == "Bearer hf_secret_token_value" })
        }
    }

    @Test func anUnwritableCacheNamesThePathAndThePOSIXReason() async throws {
        let dir = try Self.tempCache()
        let file = dir.appendingPathComponent("afile")
        try Data("x".utf8).write(to: file)
        let cache = file.appendingPathComponent("sub")  // HF_HUB_CACHE under a regular file
        try await FakeHub().run { hub in
            do {
                _ = try await Self.client(hub, cache: cache).download(Self.repo)
                Issue.record("expected an error")
            } catch let error as HubError {
                guard case .io(let path, let reason) = error else { Issue.record("\(error)"); return }
                #expect(path == file.path)
                #expect(reason.contains("Not a directory") && reason.contains(cache.path), "\(reason)")
                #expect(!error.description.contains("NSCocoaErrorDomain"), "\(error)")
            }
        }
        do {
            _ = try HubClient.readIndex(dir.appendingPathComponent("none/model.safetensors.index.json"), name: "model.safetensors.index.json")
            Issue.record("expected an error")
        } catch let error as HubError {
            #expect(error.description.contains("No such file or directory"), "\(error)")
        }
    }

    @Test func noNetworkIsAClearErrorWithAHint() async throws {
        let cache = try Self.tempCache()
        var config = try HubConfiguration(endpoint: URL(string: "http://127.0.0.1:1")!, cacheDirectory: cache)
        config.connectTimeout = 2
        do {
            _ = try await HubClient(configuration: config).download(Self.repo)
            Issue.record("expected an error")
        } catch let error as HubError {
            guard case .network = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("HF_HUB_OFFLINE"))
            #expect(error.description.contains("local model directory"))
        }
    }

    @Test func withoutANetworkACachedRevisionLackingAnOptionalFileIsUsed() async throws {
        // As `snapshot_download` leaves it: no special_tokens_map.json in the repository, and no
        // `.no_exist` marker saying so.
        let cache = try Self.tempCache()
        let folder = cache.appendingPathComponent("models--skt--kobert-base-v1")
        try FileManager.default.copyItem(at: Fixture.folder, to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent(".no_exist"))
        var config = try HubConfiguration(endpoint: URL(string: "http://127.0.0.1:1")!, cacheDirectory: cache)
        config.connectTimeout = 2
        let client = HubClient(configuration: config)
        let snapshot = folder.appendingPathComponent("snapshots/\(Fixture.commit)")
        #expect(try await client.download(Self.repo, revision: Fixture.commit).path == snapshot.path)
        #expect(try await client.download(Self.repo, revision: "main").path == snapshot.path)
        // A required file missing is still an error.
        try FileManager.default.removeItem(at: snapshot.appendingPathComponent("config.json"))
        await #expect(throws: HubError.self) { try await client.download(Self.repo, revision: Fixture.commit) }
    }

    @Test func aRevisionLookupTrickledByteByByteTimesOutAsAWhole() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            hub.trickleRevisionAPI = true  // one byte a second: the read timeout never fires
            var config = try HubConfiguration(endpoint: hub.endpoint, cacheDirectory: cache)
            config.requestTimeout = 1
            let client = HubClient(configuration: config)
            let start = ContinuousClock.now
            let download = serverTask { try await client.download(Self.repo) }
            let watchdog = serverTask {
                try await Task.sleep(nanoseconds: 60_000_000_000)
                download.cancel()
            }
            defer { watchdog.cancel() }
            do {
                _ = try await download.value
                Issue.record("expected a timeout")
            } catch let error as HubError {
                guard case .network = error else { Issue.record("\(error)"); return }
                #expect(error.description.contains("the revision lookup of skt/kobert-base-v1@main took more than 1 s (HF_HUB_ETAG_TIMEOUT)"), "\(error)")
            } catch {
                Issue.record("not a HubError: \(error)")
            }
            // Generous: the timeout is 1 s, the whole body would take minutes.
            #expect(ContinuousClock.now - start < .seconds(20))
            #expect(hub.log.map(\.path) == ["/api/models/skt/kobert-base-v1/revision/main"])
        }
    }

    @Test func aLockHeldByAnotherProcessIsWaitedFor() async throws {
        let cache = try Self.tempCache()
        try await FakeHub().run { hub in
            let sha = sha256Hex(hub.files["pytorch_model.bin"]!.data)
            // As Python's huggingface_hub holds it while it writes that blob (flock on another descriptor).
            let lock = try await CacheLock.acquire(cache.appendingPathComponent(".locks/models--skt--kobert-base-v1/\(sha).lock"))
            var config = try HubConfiguration(endpoint: hub.endpoint, cacheDirectory: cache)
            config.requestTimeout = 120
            config.lockNoticeAfter = 1
            let client = HubClient(configuration: config)
            let notices = Notices()
            let download = serverTask { try await client.download(Self.repo, log: notices.append) }
            try await Task.sleep(nanoseconds: 500_000_000)
            #expect(!hub.log.contains { $0.path == "/cdn/\(sha)" }, "downloaded while the lock was held")
            // Still waiting, and saying so (after 1 s here; generous bound for a busy machine).
            for _ in 0..<600 where notices.lines.isEmpty { try await Task.sleep(nanoseconds: 100_000_000) }
            let lockPath = cache.appendingPathComponent(".locks/models--skt--kobert-base-v1/\(sha).lock").path
            #expect(notices.lines.first?.contains("still waiting for the lock \(lockPath)") == true, "\(notices.lines)")
            #expect(!hub.log.contains { $0.path == "/cdn/\(sha)" }, "downloaded while the lock was held")
            lock.release()
            let snapshot = try await download.value
            #expect(FileManager.default.contents(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path) == hub.files["pytorch_model.bin"]!.data)
        }
    }
}

/// Lines a download's `log` received.
final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.withLock { _lines } }
    func append(_ line: String) { lock.withLock { _lines.append(line) } }
}

struct HubReferenceTests {
    /// Says every path exists, as if the current directory held these names.
    final class EverythingExists: FileManager, @unchecked Sendable {
        override func fileExists(atPath path: String) -> Bool { true }
    }

    @Test func repositoryIdsAndRevisionsAreValidatedStrictly() throws {
        #expect(try ModelReference.parse("skt/kobert-base-v1") == .hub(try RepoID(owner: "skt", name: "kobert-base-v1"), revision: "main"))
        #expect(try ModelReference.parse("skt/kobert-base-v1@v1.0") == .hub(try RepoID(owner: "skt", name: "kobert-base-v1"), revision: "v1.0"))
        #expect(try ModelReference.parse("a_b/c.d@refs/pr/1") == .hub(try RepoID(owner: "a_b", name: "c.d"), revision: "refs/pr/1"))
        for bad in ["../etc", "a/../b", "/no/such/dir-\(UUID())", "a/b/c", "a--b/c", "a/b..c", "a/.b", "a/b-", "a/b.git", "a/b@..",
                    "a/b@/x", "a/b@x//y", "a/b@", "a/b@x/../y", "a/b@.x", "a", "a/b c", "a/😀", "a/b@x y", "a/\(String(repeating: "x", count: 97))",
                    "~/x"] {
            #expect(throws: HubError.self, "\(bad)") { try ModelReference.parse(bad) }
        }
        #expect(try RepoID("skt/kobert-base-v1").cacheFolderName == "models--skt--kobert-base-v1")
    }

    @Test func anExistingLocalPathAlwaysWins() throws {
        let dir = FileManager.default.temporaryDirectory.path
        #expect(try ModelReference.parse(dir) == .local(URL(fileURLWithPath: dir)))
        #expect(try ModelReference.parse("skt/kobert-base-v1", fileManager: EverythingExists()) == .local(URL(fileURLWithPath: "skt/kobert-base-v1")))
    }

    @Test func resolveModelReturnsALocalDirectoryWithoutTouchingTheNetwork() async throws {
        let dir = FileManager.default.temporaryDirectory
        let config = try HubConfiguration(endpoint: URL(string: "http://127.0.0.1:1")!, cacheDirectory: dir)
        #expect(try await HubClient.resolveModel(dir.path, configuration: config) == dir)
    }

    @Test func configurationComesFromHuggingFaceHubsVariables() throws {
        var c = try HubConfiguration(environment: ["HOME": "/home/u"])
        #expect(c.cacheDirectory.path == "/home/u/.cache/huggingface/hub")
        #expect(c.endpoint.absoluteString == "https://huggingface.co")
        #expect(!c.offline)
        c = try HubConfiguration(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "/x"])
        #expect(c.cacheDirectory.path == "/x/huggingface/hub")
        c = try HubConfiguration(environment: ["HF_HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HUB_OFFLINE": "1"])
        #expect(c.cacheDirectory.path == "/h/hub")
        #expect(c.offline)
        c = try HubConfiguration(environment: ["HF_HOME": "/h", "HF_HUB_CACHE": "/c", "HF_ENDPOINT": "http://127.0.0.1:8080/", "HF_TOKEN": "hf_abc", "HF_HUB_OFFLINE": "0"])
        #expect(c.cacheDirectory.path == "/c")
        #expect(c.endpoint.absoluteString == "http://127.0.0.1:8080")
        #expect(c.token == "hf_abc")
        #expect(!c.offline)
        #expect(!c.description.contains("hf_abc"))
        #expect(throws: HubError.self) { try HubConfiguration(environment: ["HF_ENDPOINT": "ftp://x"]) }
        // The file `huggingface-cli login` writes (HF_TOKEN_PATH, else HF_HOME/token); HF_TOKEN wins.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("HubConfigTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try Data("hf_from_file\n".utf8).write(to: home.appendingPathComponent("token"))
        #expect(try HubConfiguration(environment: ["HF_HOME": home.path]).token == "hf_from_file")
        #expect(try HubConfiguration(environment: ["HF_HOME": home.path, "HF_TOKEN": "hf_env"]).token == "hf_env")
        #expect(try HubConfiguration(environment: ["HF_HOME": "/nonexistent-\(UUID().uuidString)"]).token == nil)
        // The legacy HUGGINGFACE_HUB_CACHE, after HF_HUB_CACHE.
        #expect(try HubConfiguration(environment: ["HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory.path == "/legacy")
        #expect(try HubConfiguration(environment: ["HF_HUB_CACHE": "/c", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory.path == "/c")
        // ~, ~user, $VAR and ${VAR} as Python's expanduser + expandvars; an unset variable stays.
        let env = ["HOME": "/home/u/", "S": "/scratch", "T": "t"]
        func cacheDir(_ extra: [String: String]) throws -> String {
            try HubConfiguration(environment: env.merging(extra) { $1 }).cacheDirectory.path
        }
        #expect(try cacheDir(["HF_HOME": "~/hf"]) == "/home/u/hf/hub")
        #expect(try cacheDir(["HF_HUB_CACHE": "~"]) == "/home/u")
        #expect(try cacheDir(["HUGGINGFACE_HUB_CACHE": "~/legacy"]) == "/home/u/legacy")
        #expect(try cacheDir(["XDG_CACHE_HOME": "$S/xdg"]) == "/scratch/xdg/huggingface/hub")
        #expect(try cacheDir(["HF_HOME": "${S}/h-$T"]) == "/scratch/h-t/hub")
        #expect(try cacheDir(["HF_HUB_CACHE": "$S/a/${T}b/$T-c"]) == "/scratch/a/tb/t-c")
        #expect(try cacheDir(["HF_HUB_CACHE": "/x/$UNSET_\(UUID().uuidString.prefix(4))/${}/$/y"]).hasPrefix("/x/$UNSET_"))
        #expect(try cacheDir(["HF_HUB_CACHE": "/x/${}/$/y"]) == "/x/${}/$/y")
        #expect(try cacheDir(["HF_HUB_CACHE": "~root/c"]) == FileManager.default.homeDirectory(forUser: "root")!.path + "/c")
        #expect(try cacheDir(["HF_HUB_CACHE": "/x/~/c"]) == "/x/~/c")
        #expect(HubConfiguration.expandUser("~nosuchuser-\(UUID().uuidString.prefix(8))/c", env).hasPrefix("~nosuchuser-"))
        #expect(try HubConfiguration(environment: ["HOME": home.path, "HF_TOKEN_PATH": "~/token"]).token == "hf_from_file")
        c = try HubConfiguration(environment: ["HF_HOME": "/h", "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "7"])
        #expect(c.connectTimeout == 5 && c.requestTimeout == 5 && c.readTimeout == 7)
        #expect(throws: HubError.self) { try HubConfiguration(environment: ["HF_HOME": "/h", "HF_HUB_ETAG_TIMEOUT": "-1"]) }
        do {
            _ = try HubConfiguration(environment: ["HF_HOME": "/h", "HF_TOKEN": "hf_a\u{7F}secret"])
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func etagsAndRangesAreParsedAsTheHubSendsThem() {
        #expect(normalizeEtag("W/\"abc\"") == "abc")
        #expect(normalizeEtag("\"abc\"") == "abc")
        #expect(parseContentRange("bytes 10-99/100")! == (10, 99, 100))
        #expect(parseContentRange("bytes 10-/100") == nil)
        #expect(percentEncode("refs/pr/1", keepSlash: false) == "refs%2Fpr%2F1")
        #expect(percentEncode("a b/c.bin", keepSlash: true) == "a%20b/c.bin")
    }
}

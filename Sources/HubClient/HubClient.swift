import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Bytes of one file received so far (including a resumed part) out of its size.
public struct DownloadProgress: Sendable, Equatable {
    public let file: String
    public let bytesDone: Int64
    public let bytesTotal: Int64
}

/// Downloads a model's files from the Hugging Face Hub into the cache Python's huggingface_hub uses
/// (same layout, same lock files), and finds them there again without a request.
///
/// Requests for `download(repo, revision:)`:
/// - revision is a full commit hash and the snapshot is complete in the cache: none;
/// - a branch or tag (e.g. `main`) whose snapshot is complete: one, the revision lookup
///   `GET /api/models/{id}/revision/{revision}` (to learn which commit it points to now);
/// - otherwise the lookup, then per missing file a `HEAD` and a `GET` of `/{id}/resolve/{commit}/{file}`;
/// - `HF_HUB_OFFLINE=1`: none (the cache's `refs/<revision>` gives the commit).
///
/// Files fetched: `config.json`; weights (`model.safetensors`, else its sharded
/// `model.safetensors.index.json` and the shards it lists, else `pytorch_model.bin` or its index and
/// shards); `spiece.model`, `tokenizer_config.json`, `special_tokens_map.json` when the repository has them.
public struct HubClient: Sendable {
    public let configuration: HubConfiguration

    public static let tokenizerFiles = ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"]
    static let weightFiles = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]
    static let maxJSONBytes = 32 << 20
    /// Larger declared file sizes are refused as implausible (forged), before the free-space check.
    static let maxFileBytes: Int64 = 1 << 40

    public init(configuration: HubConfiguration) {
        self.configuration = configuration
    }

    /// The directory `--model` names: an existing local path as it is (it always wins), else the Hub
    /// repository `owner/name[@revision]` downloaded (or found) in the cache: its snapshot directory.
    /// `log` receives notices for the user, as `download`'s.
    public static func resolveModel(
        _ reference: String,
        configuration: HubConfiguration? = nil,
        progress: (@Sendable (DownloadProgress) -> Void)? = nil,
        log: (@Sendable (String) -> Void)? = nil
    ) async throws -> URL {
        switch try ModelReference.parse(reference) {
        case .local(let url):
            return url
        case .hub(let repo, let revision):
            let client = HubClient(configuration: try configuration ?? HubConfiguration())
            do {
                return try await client.download(repo, revision: revision, progress: progress, log: log)
            } catch let error as HubError {
                // Perhaps a mistyped local path: say that too.
                if case .repositoryNotFound = error {
                    throw HubError.invalidReference(reference, "no such local path, and \(error.description)")
                }
                throw error
            }
        }
    }

    /// Makes sure the model files of `repo` at `revision` are in the cache; returns the snapshot
    /// directory `<cache>/models--owner--name/snapshots/<commit>`. `log` receives notices for the
    /// user (one line each): while another process holds a file's lock, "still waiting for the lock …"
    /// after `lockNoticeAfter` seconds, then every `lockNoticeEvery` seconds.
    public func download(
        _ repo: RepoID,
        revision: String = "main",
        progress: (@Sendable (DownloadProgress) -> Void)? = nil,
        log: (@Sendable (String) -> Void)? = nil
    ) async throws -> URL {
        try Revision.validate(revision, of: "\(repo)@\(revision)")
        let cache = RepoCache(root: configuration.cacheDirectory, repo: repo)
        if configuration.offline {
            let commit: String
            if Revision.isCommitHash(revision) {
                commit = revision
            } else if let c = cache.readRef(revision) {
                commit = c
            } else {
                throw HubError.notCached(repo: repo.description, revision: revision, cache: configuration.cacheDirectory.path, missing: "no refs/\(revision)")
            }
            if let missing = Self.missingFromCache(cache, commit: commit, strict: false) {
                throw HubError.notCached(repo: repo.description, revision: revision, cache: configuration.cacheDirectory.path, missing: "missing: \(missing)")
            }
            return cache.snapshot(commit)
        }
        if Revision.isCommitHash(revision), Self.missingFromCache(cache, commit: revision, strict: true) == nil {
            return cache.snapshot(revision)
        }
        let session = Session(configuration: configuration, log: log)
        do {
            let url = try await session.download(repo, revision: revision, cache: cache, progress: progress)
            try? await session.http.shutdown()
            return url
        } catch {
            try? await session.http.shutdown()
            throw error
        }
    }

    /// What a usable snapshot lacks in the cache (nil: nothing). `strict` also wants each tokenizer
    /// file present or recorded as absent (`.no_exist`), so a cached commit is used with no request.
    static func missingFromCache(_ cache: RepoCache, commit: String, strict: Bool) -> String? {
        if !cache.has(commit, "config.json") { return "config.json" }
        var weights = cache.has(commit, "model.safetensors") || cache.has(commit, "pytorch_model.bin")
        if !weights {
            for index in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] where cache.has(commit, index) {
                if let shards = try? readIndex(cache.pointer(commit, index), name: index), shards.allSatisfy({ cache.has(commit, $0) }) {
                    weights = true
                    break
                }
            }
        }
        if !weights { return "weights (model.safetensors or pytorch_model.bin)" }
        if strict {
            for file in tokenizerFiles where !cache.has(commit, file) && !cache.markedMissing(commit, file) {
                return file
            }
        }
        return nil
    }

    /// The shard file names a `*.index.json` lists (its `weight_map` values), validated.
    static func readIndex(_ url: URL, name: String) throws -> [String] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes?[.size] as? NSNumber, size.int64Value > Int64(maxJSONBytes) {
            throw HubError.badResponse(what: name, reason: "index larger than \(maxJSONBytes) bytes")
        }
        let data = try readFile(url, limit: maxJSONBytes)
        struct Index: Decodable { let weight_map: [String: String] }
        guard let index = try? JSONDecoder().decode(Index.self, from: data) else {
            throw HubError.badResponse(what: name, reason: "not a JSON object with a weight_map of tensor names to file names")
        }
        let shards = Array(Set(index.weight_map.values)).sorted()
        guard !shards.isEmpty, shards.count <= 100_000 else {
            throw HubError.badResponse(what: name, reason: "weight_map lists \(shards.count) files")
        }
        for shard in shards { try validateRepoFilePath(shard, what: name) }
        return shards
    }
}

// MARK: - One run's HTTP session

/// Which redirects `send` follows: only relative ones (a `Location` without scheme and host, as a
/// renamed repository's), those to the same origin, or all.
private enum RedirectPolicy { case relative, sameOrigin, all }

private struct Origin: Equatable {
    let scheme: String, host: String, port: Int
    init?(_ url: URL) {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
    }
}

/// Metadata of one file at a commit, from `HEAD /{id}/resolve/{commit}/{file}`.
private struct FileMetadata {
    let etag: String
    let size: Int64
    let location: URL
    /// The SHA-256 the Hub declares for an LFS file (its X-Linked-Etag), nil for regular files.
    let sha256: String?
}

private final class Session: Sendable {
    let http: HTTPClient
    let configuration: HubConfiguration
    let hub: Origin?
    let log: (@Sendable (String) -> Void)?

    init(configuration: HubConfiguration, log: (@Sendable (String) -> Void)?) {
        self.configuration = configuration
        self.log = log
        self.hub = Origin(configuration.endpoint)
        let ms = { (s: Double) in TimeAmount.milliseconds(Int64((s * 1000).rounded())) }
        var config = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: ms(configuration.connectTimeout), read: ms(configuration.readTimeout)),
            decompression: .disabled
        )
        config.connectionPool.idleTimeout = .seconds(5)
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func download(_ repo: RepoID, revision: String, cache: RepoCache, progress: (@Sendable (DownloadProgress) -> Void)?) async throws -> URL {
        // 1. Which commit, and which files it has.
        let info: (sha: String, files: Set<String>)
        do {
            info = try await revisionInfo(repo, revision: revision)
        } catch let error as HubError {
            // No network: like huggingface_hub, fall back to what the cache has for this revision,
            // judged as offline mode does (a snapshot Python wrote has no `.no_exist` markers for the
            // optional tokenizer files a repository lacks).
            if case .network = error {
                let commit = Revision.isCommitHash(revision) ? revision : cache.readRef(revision)
                if let commit, HubClient.missingFromCache(cache, commit: commit, strict: false) == nil {
                    return cache.snapshot(commit)
                }
            }
            throw error
        }
        let commit = info.sha
        try cache.writeRef(revision, commit: commit)

        // 2. The files the model needs.
        guard info.files.contains("config.json") else {
            throw HubError.fileNotFound(repo: repo.description, revision: revision, file: "config.json")
        }
        guard let weights = HubClient.weightFiles.first(where: info.files.contains) else {
            throw HubError.noWeights(repo: repo.description, revision: revision)
        }
        var files = ["config.json", weights]
        for file in HubClient.tokenizerFiles {
            if info.files.contains(file) { files.append(file) } else { cache.markMissing(commit, file) }
        }
        for file in files {
            try await fetch(repo, commit: commit, file: file, cache: cache, progress: progress)
        }
        // 3. Shards listed by a sharded checkpoint's index.
        if weights.hasSuffix(".index.json") {
            let shards = try HubClient.readIndex(cache.pointer(commit, weights), name: weights)
            for shard in shards {
                guard info.files.contains(shard) else {
                    throw HubError.fileNotFound(repo: repo.description, revision: revision, file: "\(shard) (listed in \(weights))")
                }
                try await fetch(repo, commit: commit, file: shard, cache: cache, progress: progress)
            }
        }
        return cache.snapshot(commit)
    }

    // MARK: Revision lookup

    func revisionInfo(_ repo: RepoID, revision: String) async throws -> (sha: String, files: Set<String>) {
        let url = try makeURL("/api/models/\(repo.owner)/\(repo.name)/revision/\(percentEncode(revision, keepSlash: false))")
        let what = "the revision lookup of \(repo)@\(revision)"
        // The deadline covers the whole request: the head (AsyncHTTPClient's deadline) and the body,
        // which a server could trickle byte by byte without ever tripping the read timeout.
        let deadline = NIODeadline.now() + seconds(configuration.requestTimeout)
        let answer = try await send(.GET, url, what: what, redirects: .sameOrigin, deadline: deadline)
        try check(answer, repo: repo, revision: revision, file: nil, what: what)
        guard answer.response.status.code == 200 else {
            throw HubError.httpStatus(what: what, status: Int(answer.response.status.code))
        }
        let body = try await readBody(answer, limit: HubClient.maxJSONBytes, what: what, deadline: deadline)
        struct Info: Decodable {
            struct Sibling: Decodable { let rfilename: String }
            let sha: String
            let siblings: [Sibling]?
        }
        guard let info = try? JSONDecoder().decode(Info.self, from: body) else {
            throw HubError.badResponse(what: what, reason: "not a JSON object with 'sha' and 'siblings'")
        }
        guard Revision.isCommitHash(info.sha) else {
            throw HubError.badResponse(what: what, reason: "'sha' is not a 40-digit commit hash")
        }
        if Revision.isCommitHash(revision), info.sha != revision {
            throw HubError.badResponse(what: what, reason: "asked for commit \(revision), got \(info.sha)")
        }
        return (info.sha, Set((info.siblings ?? []).map(\.rfilename)))
    }

    // MARK: One file

    func fetch(_ repo: RepoID, commit: String, file: String, cache: RepoCache, progress: (@Sendable (DownloadProgress) -> Void)?) async throws {
        try validateRepoFilePath(file, what: "the file list of \(repo)@\(commit)")
        if cache.has(commit, file) { return }
        let meta = try await metadata(repo, commit: commit, file: file)
        let blob = cache.blob(meta.etag)
        if !FileManager.default.fileExists(atPath: blob.path) {
            try makeDirectory(cache.blobs)
            let lock = try await CacheLock.acquire(
                cache.lockFile(meta.etag), noticeAfter: configuration.lockNoticeAfter, every: configuration.lockNoticeEvery, notice: log)
            defer { lock.release() }
            if !FileManager.default.fileExists(atPath: blob.path) {
                try await downloadBlob(file: file, meta: meta, cache: cache, progress: progress)
            }
        }
        try cache.link(commit, file, etag: meta.etag)
    }

    /// HEAD on the resolve URL, following only relative redirects (a renamed repository), as
    /// huggingface_hub does: an absolute redirect — the LFS redirect to the CDN, or to the Hub's own
    /// host on a mirror — is the answer, whose headers (X-Repo-Commit, X-Linked-Etag, X-Linked-Size)
    /// describe the file and whose Location is where the bytes are then fetched.
    func metadata(_ repo: RepoID, commit: String, file: String) async throws -> FileMetadata {
        let url = try makeURL("/\(repo.owner)/\(repo.name)/resolve/\(commit)/\(percentEncode(file, keepSlash: true))")
        let what = "\(file) of \(repo)@\(commit)"
        let answer = try await send(.HEAD, url, what: what, redirects: .relative, deadline: .now() + seconds(configuration.requestTimeout))
        try check(answer, repo: repo, revision: commit, file: file, what: what)
        let headers = answer.response.headers
        let status = Int(answer.response.status.code)
        let isRedirect = (300...399).contains(status)
        guard status == 200 || isRedirect else { throw HubError.httpStatus(what: what, status: status) }
        guard let repoCommit = headers.first(name: "X-Repo-Commit") else {
            throw HubError.badResponse(what: what, reason: "no X-Repo-Commit header: the endpoint does not look like a Hugging Face Hub (proxy or firewall?)")
        }
        guard repoCommit == commit else {
            throw HubError.badResponse(what: what, reason: "X-Repo-Commit is \(repoCommit.prefix(64)), not the commit asked for \(commit)")
        }
        let linkedEtag = headers.first(name: "X-Linked-Etag")
        guard let rawEtag = linkedEtag ?? headers.first(name: "ETag") else {
            throw HubError.badResponse(what: what, reason: "no ETag header")
        }
        let etag = normalizeEtag(rawEtag)
        guard (1...256).contains(etag.utf8.count),
              etag.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F })
        else {
            throw HubError.badResponse(what: what, reason: "ETag '\(rawEtag.prefix(80))' cannot name a cache file")
        }
        let linkedSize = headers.first(name: "X-Linked-Size")
        let sizeText = linkedSize ?? (isRedirect ? nil : headers.first(name: "Content-Length"))
        guard let sizeText, let size = Int64(sizeText), size >= 0 else {
            throw HubError.badResponse(what: what, reason: "no valid file size (X-Linked-Size or Content-Length)")
        }
        guard size <= HubClient.maxFileBytes else {
            throw HubError.badResponse(what: what, reason: "the Hub declares an implausible size of \(size) bytes for \(file) (\(linkedSize != nil ? "X-Linked-Size" : "Content-Length"); more than 1 TiB)")
        }
        var location = answer.url
        if isRedirect {
            guard let text = headers.first(name: "Location"), let target = resolveLocation(text, from: answer.url) else {
                throw HubError.badResponse(what: what, reason: "redirect without a valid http(s) Location")
            }
            location = target
        }
        let isSHA256 = etag.utf8.count == 64 && etag.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        return FileMetadata(etag: etag, size: size, location: location, sha256: linkedEtag != nil && isSHA256 ? etag : nil)
    }

    /// Downloads into `blobs/<etag>.incomplete` (resuming what is there), checks size and SHA-256,
    /// then renames it to `blobs/<etag>`. A checksum mismatch discards the file and downloads once more.
    func downloadBlob(file: String, meta: FileMetadata, cache: RepoCache, progress: (@Sendable (DownloadProgress) -> Void)?) async throws {
        let incomplete = cache.incomplete(meta.etag)
        let blob = cache.blob(meta.etag)
        var st = stat()
        let resumable = stat(incomplete.path, &st) == 0 ? min(Int64(st.st_size), meta.size) : 0
        if let free = availableBytes(at: cache.blobs), free < meta.size - resumable {
            throw HubError.diskFull(path: blob.path, needed: meta.size - resumable, available: free)
        }
        for attempt in 0..<2 {
            try await transfer(file: file, from: meta.location, to: incomplete, size: meta.size, progress: progress)
            if let expected = meta.sha256 {
                let actual = try sha256(of: incomplete)
                if actual != expected {
                    unlink(incomplete.path)
                    if attempt == 0 { continue }
                    throw HubError.checksumMismatch(file: file, expected: expected, actual: actual)
                }
            }
            guard rename(incomplete.path, blob.path) == 0 else { throw posixError(blob.path, "cannot move the download into place") }
            let dir = open(cache.blobs.path, O_RDONLY)
            if dir >= 0 { fsync(dir); close(dir) }
            return
        }
    }

    func transfer(file: String, from url: URL, to incomplete: URL, size: Int64, progress: (@Sendable (DownloadProgress) -> Void)?) async throws {
        let fd = open(incomplete.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw posixError(incomplete.path, "cannot open") }
        defer { close(fd) }
        var failuresWithoutProgress = 0
        var interruptions = 0
        while true {
            var offset = Int64(lseek(fd, 0, SEEK_END))
            if offset < 0 { throw posixError(incomplete.path, "cannot seek") }
            if offset > size {
                guard ftruncate(fd, 0) == 0 else { throw posixError(incomplete.path, "cannot truncate") }
                offset = 0
            }
            if offset == size { break }
            let headers = offset > 0 ? [("Range", "bytes=\(offset)-")] : []
            let answer = try await send(.GET, url, extraHeaders: headers, what: file, redirects: .all, deadline: .now() + .hours(24 * 7))
            let status = Int(answer.response.status.code)
            if status == 416 && offset > 0 {
                // The server no longer accepts our range: start over.
                await drain(answer.response)
                guard ftruncate(fd, 0) == 0 else { throw posixError(incomplete.path, "cannot truncate") }
                failuresWithoutProgress += 1
                if failuresWithoutProgress > configuration.maxResumes {
                    throw HubError.badResponse(what: file, reason: "the server refuses the range request")
                }
                continue
            }
            if status == 200 {
                if offset > 0 {  // Range ignored: the whole file comes again.
                    guard ftruncate(fd, 0) == 0 else { throw posixError(incomplete.path, "cannot truncate") }
                    offset = 0
                }
                if let cl = answer.response.headers.first(name: "Content-Length"), Int64(cl) != size {
                    await drain(answer.response)
                    throw HubError.badResponse(what: file, reason: "Content-Length \(cl.prefix(30)) differs from the declared size \(size)")
                }
            } else if status == 206 {
                guard let range = answer.response.headers.first(name: "Content-Range"),
                      let (start, end, total) = parseContentRange(range), start == offset, end == size - 1, total == size
                else {
                    await drain(answer.response)
                    throw HubError.badResponse(what: file, reason: "partial content for a range other than bytes \(offset)-\(size - 1)/\(size)")
                }
            } else {
                try check(answer, repo: nil, revision: nil, file: file, what: file)
                throw HubError.httpStatus(what: file, status: status)
            }

            var done = offset
            var detail = "the connection closed early"
            do {
                for try await chunk in answer.response.body {
                    let n = Int64(chunk.readableBytes)
                    guard n <= size - done else {
                        throw HubError.badResponse(what: file, reason: "the server sent more than the declared size \(size)")
                    }
                    try chunk.withUnsafeReadableBytes { raw in try writeAll(fd, raw, at: done, path: incomplete.path) }
                    done += n
                    progress?(DownloadProgress(file: file, bytesDone: done, bytesTotal: size))
                }
            } catch let error as HubError {
                throw error
            } catch {
                detail = String(describing: error).prefix(200).description
            }
            if done == size { break }
            // Interrupted: resume from what is on disk.
            failuresWithoutProgress = done > offset ? 0 : failuresWithoutProgress + 1
            interruptions += 1
            if failuresWithoutProgress > configuration.maxResumes || interruptions > 4 * configuration.maxResumes + 4 {
                throw HubError.transferInterrupted(file: file, done: done, total: size, detail: detail)
            }
            try await Task.sleep(nanoseconds: UInt64(100_000_000 * failuresWithoutProgress))
        }
        guard fsync(fd) == 0 else { throw posixError(incomplete.path, "cannot flush to disk") }
    }

    // MARK: HTTP

    struct Answer {
        let response: HTTPClientResponse
        let url: URL
    }

    func makeURL(_ path: String) throws -> URL {
        guard let url = URL(string: configuration.endpoint.absoluteString + path) else {
            throw HubError.invalidConfiguration("HF_ENDPOINT", "cannot form a URL with the path \(path)")
        }
        return url
    }

    /// Sends a request, following redirects per `redirects` (at most 5). The token goes only to the
    /// Hub's own origin (scheme, host, port), never to a redirect target elsewhere (the LFS CDN).
    func send(
        _ method: HTTPMethod, _ url: URL, extraHeaders: [(String, String)] = [],
        what: String, redirects: RedirectPolicy, deadline: NIODeadline
    ) async throws -> Answer {
        var current = url
        for _ in 0...5 {
            var request = HTTPClientRequest(url: current.absoluteString)
            request.method = method
            request.headers.add(name: "User-Agent", value: "kobert-emotion-hubclient/1.0")
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if let token = configuration.token, let hub, Origin(current) == hub {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: deadline)
            } catch {
                throw HubError.network(host: hostDescription(current), detail: String(describing: error).prefix(200).description)
            }
            let status = Int(response.status.code)
            guard (300...399).contains(status), status != 304, let location = response.headers.first(name: "Location") else {
                return Answer(response: response, url: current)
            }
            guard let next = resolveLocation(location, from: current) else {
                await drain(response)
                throw HubError.badResponse(what: what, reason: "redirect to an invalid location")
            }
            if redirects == .relative && !isRelativeLocation(location) || redirects == .sameOrigin && Origin(next) != Origin(current) {
                return Answer(response: response, url: current)
            }
            await drain(response)
            current = next
        }
        throw HubError.badResponse(what: what, reason: "more than 5 redirects")
    }

    /// Maps the Hub's error answers (its X-Error-Code header, else the status) to errors.
    func check(_ answer: Answer, repo: RepoID?, revision: String?, file: String?, what: String) throws {
        let status = Int(answer.response.status.code)
        guard status >= 400 else { return }
        let code = answer.response.headers.first(name: "X-Error-Code")
        let repoName = repo?.description ?? what
        let tokenSent = configuration.token != nil && Origin(answer.url) == hub
        switch code {
        case "RepoNotFound":
            throw HubError.repositoryNotFound(repo: repoName, endpoint: configuration.endpoint.absoluteString, tokenSent: tokenSent)
        case "RevisionNotFound":
            throw HubError.revisionNotFound(repo: repoName, revision: revision ?? "?")
        case "EntryNotFound":
            throw HubError.fileNotFound(repo: repoName, revision: revision ?? "?", file: file ?? "?")
        case "GatedRepo":
            throw HubError.accessDenied(repo: repoName, status: status, tokenSent: tokenSent, gated: true)
        default:
            break
        }
        switch status {
        case 401, 403:
            throw HubError.accessDenied(repo: repoName, status: status, tokenSent: tokenSent, gated: false)
        case 404 where repo != nil && file != nil:
            throw HubError.fileNotFound(repo: repoName, revision: revision ?? "?", file: file ?? "?")
        case 404 where repo != nil:
            throw HubError.repositoryNotFound(repo: "\(repoName)@\(revision ?? "main")", endpoint: configuration.endpoint.absoluteString, tokenSent: tokenSent)
        default:
            throw HubError.httpStatus(what: what, status: status)
        }
    }

    /// The body of `answer`, at most `limit` bytes, all received by `deadline`.
    func readBody(_ answer: Answer, limit: Int, what: String, deadline: NIODeadline) async throws -> Data {
        let response = answer.response
        if let cl = response.headers.first(name: "Content-Length"), let n = Int(cl), n > limit {
            throw HubError.badResponse(what: what, reason: "answer of \(n) bytes exceeds the limit of \(limit)")
        }
        let host = hostDescription(answer.url)
        let timeout = configuration.requestTimeout
        return try await withDeadline(deadline) {
            var data = Data()
            do {
                for try await chunk in response.body {
                    guard chunk.readableBytes <= limit - data.count else {
                        throw HubError.badResponse(what: what, reason: "answer exceeds the limit of \(limit) bytes")
                    }
                    data.append(contentsOf: chunk.readableBytesView)
                }
            } catch let error as HubError {
                throw error
            } catch {
                throw HubError.network(host: host, detail: "answer cut off: " + String(describing: error).prefix(200))
            }
            return data
        } onTimeout: {
            HubError.network(host: host, detail: "\(what) took more than \(formatSeconds(timeout)) s (HF_HUB_ETAG_TIMEOUT): the answer came too slowly")
        }
    }

    /// Reads and drops what is left of a body (at most 64 KiB, for at most 10 s) so the connection can be reused.
    func drain(_ response: HTTPClientResponse) async {
        _ = try? await withDeadline(.now() + .seconds(10)) {
            try await response.body.collect(upTo: 1 << 16)
        } onTimeout: {
            HubError.network(host: "", detail: "")
        }
    }

    /// `body`'s result, or `onTimeout()` thrown if it has not finished by `deadline` (`body` is then cancelled).
    func withDeadline<T: Sendable>(
        _ deadline: NIODeadline, _ body: @escaping @Sendable () async throws -> T,
        onTimeout: @escaping @Sendable () -> HubError
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let left = (deadline - .now()).nanoseconds
                if left > 0 { try await Task.sleep(nanoseconds: UInt64(left)) }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw onTimeout() }
            return value
        }
    }

    func seconds(_ s: Double) -> TimeAmount { .milliseconds(Int64((s * 1000).rounded())) }
}

// MARK: - Helpers

/// `1`, `1.5`: seconds as a user wrote them.
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() && abs(s) < 1e15 ? String(Int64(s)) : String(s)
}

/// `W/"abc"` or `"abc"` -> `abc`, as huggingface_hub's `_normalize_etag`.
func normalizeEtag(_ etag: String) -> String {
    var t = Substring(etag.trimmingCharacters(in: .whitespaces))
    if t.hasPrefix("W/") { t = t.dropFirst(2) }
    while t.hasPrefix("\"") { t = t.dropFirst() }
    while t.hasSuffix("\"") { t = t.dropLast() }
    return String(t)
}

/// `bytes START-END/TOTAL`.
func parseContentRange(_ text: String) -> (Int64, Int64, Int64)? {
    let t = text.trimmingCharacters(in: .whitespaces)
    guard t.hasPrefix("bytes ") else { return nil }
    let rest = t.dropFirst(6)
    let parts = rest.split(separator: "/")
    guard parts.count == 2, let total = Int64(parts[1]) else { return nil }
    let se = parts[0].split(separator: "-")
    guard se.count == 2, let start = Int64(se[0]), let end = Int64(se[1]), start <= end else { return nil }
    return (start, end, total)
}

/// Percent-encodes all but unreserved characters (and `/` if `keepSlash`), as Python's `quote`.
func percentEncode(_ text: String, keepSlash: Bool) -> String {
    var out = ""
    for byte in text.utf8 {
        let c = Character(Unicode.Scalar(byte))
        if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E || (keepSlash && byte == 0x2F) {
            out.append(c)
        } else {
            out += String(format: "%%%02X", byte)
        }
    }
    return out
}

/// A `Location` naming no scheme and no host (`/a/b`, `b`), which huggingface_hub follows on HEAD.
private func isRelativeLocation(_ text: String) -> Bool {
    guard let components = URLComponents(string: text) else { return false }
    return components.scheme == nil && components.host == nil
}

private func resolveLocation(_ text: String, from base: URL) -> URL? {
    guard text.utf8.count <= 8192, let url = URL(string: text, relativeTo: base)?.absoluteURL,
          let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
    else { return nil }
    return url
}

/// Scheme, host and port of a URL, without its path or query (which may carry signatures).
private func hostDescription(_ url: URL) -> String {
    var text = "\(url.scheme ?? "http")://\(url.host ?? "?")"
    if let port = url.port { text += ":\(port)" }
    return text
}

private func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
    var written = 0
    while written < raw.count {
        let n = pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(offset) + off_t(written))
        if n < 0 {
            if errno == EINTR { continue }
            throw posixError(path, "cannot write")
        }
        written += n
    }
}

/// SHA-256 of a file, hex, read in 1 MiB pieces.
func sha256(of url: URL) throws -> String {
    var hasher = SHA256()
    try readChunks(of: url, size: 1 << 20) { hasher.update(bufferPointer: $0) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

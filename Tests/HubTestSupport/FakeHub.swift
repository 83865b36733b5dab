import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestExecutors

/// The fixture cache written by Python's huggingface_hub (Scripts/make_hf_cache_fixture.py): a
/// repository named like skt/kobert-base-v1 whose files are deterministic random bytes.
public enum Fixture {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/python-cache")
    public static let repo = "skt/kobert-base-v1"
    public static let folder = root.appendingPathComponent("models--skt--kobert-base-v1")
    public static var commit: String {
        (try? String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8)) ?? "missing-fixture"
    }
    public static func file(_ name: String) -> Data {
        (try? Data(contentsOf: folder.appendingPathComponent("snapshots/\(commit)/\(name)"))) ?? Data()
    }
}

/// A small real model laid out like skt/kobert-base-v1 (Scripts/make_hub_model_fixture.py): a plain
/// BertModel as zip `pytorch_model.bin` with two unused pre-training-head tensors, its config.json,
/// a trained `spiece.model`, and KoBERT's tokenizer_config.json (XLNetTokenizer) and
/// special_tokens_map.json. The fake Hub serves it as `test/kobert-tiny`.
public enum TinyKoBERT {
    public static let repo = "test/kobert-tiny"
    public static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/kobert-tiny")
    /// Git-tracked (small) files and LFS files, as on the Hub.
    public static let regularFiles = ["config.json", "tokenizer_config.json", "special_tokens_map.json"]
    public static let lfsFiles = ["pytorch_model.bin", "spiece.model"]
    public static func file(_ name: String) -> Data {
        (try? Data(contentsOf: folder.appendingPathComponent(name))) ?? Data()
    }
}

/// HTTPTypes.HTTPField (Hummingbird exports only HTTPFields).
typealias Field = HTTPFields.Element

public func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
public func gitBlobID(_ data: Data) -> String {
    Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data).map { String(format: "%02x", $0) }.joined()
}

/// An in-process Hub on 127.0.0.1 (ephemeral port) serving one repository laid out like
/// skt/kobert-base-v1 with the Hub's headers: the revision API; resolve URLs with X-Repo-Commit and
/// ETag (git blob id) for regular files, or a 302 to a "CDN" (`http://localhost:PORT/cdn/<sha256>`,
/// another host name than the endpoint's 127.0.0.1) with X-Linked-Etag / X-Linked-Size for LFS
/// files; Range support on the CDN. `skt/old-name` redirects (relative, 307) to the repository, as a
/// renamed repository does. `trickleRevisionAPI` makes the revision API stall. Every request is recorded. `test/kobert-tiny` serves `TinyKoBERT`, a
/// small real model in the same layout. Shared by HubClientTests and CLITests (a `kobert-emotion`
/// child process reaches it through `HF_ENDPOINT`).
public final class FakeHub: @unchecked Sendable {
    public struct Logged: Sendable {
        public let method: String
        public let path: String
        public let authorization: String?
        public let range: String?
    }

    public struct RepoFile: Sendable {
        public let data: Data
        public let lfs: Bool
        /// X-Linked-Size to declare instead of the real size (a lying or huge file).
        public var declaredSize: Int? = nil
    }

    /// skt/kobert-base-v1's files (from the Python fixture).
    public let files: [String: RepoFile]
    /// All repositories: skt/kobert-base-v1, test/kobert-tiny, and test/sharded (a safetensors
    /// index and two shards), test/huge, test/forged and test/liar (lying sizes).
    public let repos: [String: [String: RepoFile]]
    /// The commit every repository is at.
    public let commit = Fixture.commit
    private let lock = NSLock()
    private var _log: [Logged] = []
    private var _port = 0
    /// File names whose next CDN downloads are cut off midway (count per name).
    private var _cut: [String: Int] = [:]
    /// File names whose next CDN downloads get one byte flipped (count per name).
    private var _corrupt: [String: Int] = [:]
    /// If set, hub requests need `Authorization: Bearer <token>` (a gated repository).
    public var requiredToken: String? {
        get { lock.withLock { _requiredToken } }
        set { lock.withLock { _requiredToken = newValue } }
    }
    private var _requiredToken: String?
    /// If set, the revision API sends its JSON one byte per second (a stalling server).
    public var trickleRevisionAPI: Bool {
        get { lock.withLock { _trickleRevisionAPI } }
        set { lock.withLock { _trickleRevisionAPI = newValue } }
    }
    private var _trickleRevisionAPI = false
    /// If set, LFS files redirect to the endpoint's own host (`http://127.0.0.1:PORT/cdn/<sha256>`,
    /// absolute), as a mirror serving them itself does, instead of the "CDN" host name.
    public var lfsOnHubHost: Bool {
        get { lock.withLock { _lfsOnHubHost } }
        set { lock.withLock { _lfsOnHubHost = newValue } }
    }
    private var _lfsOnHubHost = false

    public init() {
        var files: [String: RepoFile] = [
            ".gitattributes": RepoFile(data: Data("*.bin filter=lfs diff=lfs merge=lfs -text\n".utf8), lfs: false),
            "README.md": RepoFile(data: Data("# fake kobert-base-v1\n".utf8), lfs: false),
        ]
        for name in ["config.json", "tokenizer_config.json"] { files[name] = RepoFile(data: Fixture.file(name), lfs: false) }
        for name in ["pytorch_model.bin", "spiece.model"] { files[name] = RepoFile(data: Fixture.file(name), lfs: true) }
        self.files = files
        let shard1 = Data((0..<3000).map { UInt8($0 % 251) }), shard2 = Data((0..<2000).map { UInt8($0 % 241) })
        let index = #"{"metadata": {"total_size": 5000}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors"}}"#
        var tiny: [String: RepoFile] = [
            ".gitattributes": RepoFile(data: Data("*.bin filter=lfs diff=lfs merge=lfs -text\n*.model filter=lfs diff=lfs merge=lfs -text\n".utf8), lfs: false),
            "README.md": RepoFile(data: Data("# tiny KoBERT-like test model\n".utf8), lfs: false),
        ]
        for name in TinyKoBERT.regularFiles { tiny[name] = RepoFile(data: TinyKoBERT.file(name), lfs: false) }
        for name in TinyKoBERT.lfsFiles { tiny[name] = RepoFile(data: TinyKoBERT.file(name), lfs: true) }
        self.repos = [
            Fixture.repo: files,
            TinyKoBERT.repo: tiny,
            "test/sharded": [
                "config.json": files["config.json"]!,
                "model.safetensors.index.json": RepoFile(data: Data(index.utf8), lfs: false),
                "model-00001-of-00002.safetensors": RepoFile(data: shard1, lfs: true),
                "model-00002-of-00002.safetensors": RepoFile(data: shard2, lfs: true),
                "pytorch_model.bin": RepoFile(data: Data("not to be downloaded".utf8), lfs: true),
            ],
            // Weights declared larger than the disk (1 TiB, the most accepted), implausibly large (1 PB),
            // or smaller than what the CDN then sends.
            "test/huge": ["config.json": files["config.json"]!, "model.safetensors": RepoFile(data: Data("huge".utf8), lfs: true, declaredSize: 1 << 40)],
            "test/forged": ["config.json": files["config.json"]!, "model.safetensors": RepoFile(data: Data("forged".utf8), lfs: true, declaredSize: 1_000_000_000_000_000)],
            "test/liar": ["config.json": files["config.json"]!, "model.safetensors": RepoFile(data: Data(repeating: 7, count: 5000), lfs: true, declaredSize: 4000)],
        ]
    }

    /// Every request so far, in order.
    public var log: [Logged] { lock.withLock { _log } }
    public var port: Int { lock.withLock { _port } }
    /// What `HF_ENDPOINT` is set to: `http://127.0.0.1:PORT`.
    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public func clearLog() { lock.withLock { _log.removeAll() } }
    public func cutNext(_ file: String, times: Int = 1) { lock.withLock { _cut[file, default: 0] += times } }
    public func corruptNext(_ file: String, times: Int = 1) { lock.withLock { _corrupt[file, default: 0] += times } }

    private func take(_ dict: inout [String: Int], _ key: String) -> Bool {
        guard let n = dict[key], n > 0 else { return false }
        dict[key] = n - 1
        return true
    }

    /// Runs `body` with the server listening; stops it afterwards. The server and `body` run on
    /// threads of their own (TestExecutors), whatever holds the cooperative threads meanwhile.
    public func run<T: Sendable>(_ body: @Sendable (FakeHub) async throws -> T) async throws -> T {
        setenv("LOG_LEVEL", "error", 1)
        let router = Router()
        router.get("**") { request, _ in self.respond(request, method: "GET") }
        router.head("**") { request, _ in self.respond(request, method: "HEAD") }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await onServerThreads {
            try await app.test(.live) { client in
                self.lock.withLock { self._port = client.port ?? 0 }
                return try await body(self)
            }
        }
    }

    private func respond(_ request: Request, method: String) -> Response {
        let path = request.uri.path
        let auth = request.headers[.authorization]
        let range = request.headers[.range]
        lock.withLock { _log.append(Logged(method: method, path: path, authorization: auth, range: range)) }
        let api = "/api/models/"
        if path.hasPrefix("/cdn/") {
            return cdn(String(path.dropFirst(5)), range: range, method: method)
        }
        if path.hasPrefix(api + "skt/old-name/") || path.hasPrefix("/skt/old-name/") {
            var fields = HTTPFields()
            fields[.location] = path.replacingOccurrences(of: "skt/old-name", with: Fixture.repo)
            return Response(status: .temporaryRedirect, headers: fields)
        }
        if let token = requiredToken, auth != "Bearer \(token)" {
            return error(401, code: "GatedRepo")
        }
        // /api/models/{owner}/{name}/revision/{revision} and /{owner}/{name}/resolve/{revision}/{file}
        let isAPI = path.hasPrefix(api)
        let parts = (isAPI ? path.dropFirst(api.count) : path.dropFirst()).split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, let repoFiles = repos["\(parts[0])/\(parts[1])"] else { return error(404, code: "RepoNotFound") }
        guard parts[2] == (isAPI ? "revision" : "resolve"), parts.count == 4 else { return error(404, code: "RepoNotFound") }
        if isAPI {
            guard parts[3] == "main" || parts[3] == commit else { return error(404, code: "RevisionNotFound") }
            let siblings = repoFiles.keys.sorted().map { ["rfilename": $0] }
            let json = try! JSONSerialization.data(withJSONObject: ["id": "\(parts[0])/\(parts[1])", "sha": commit, "siblings": siblings])
            if trickleRevisionAPI {
                let bytes = [UInt8](json)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(contentLength: bytes.count) { writer in
                    for byte in bytes {
                        try await writer.write(ByteBuffer(bytes: [byte]))
                        try await Task.sleep(nanoseconds: 1_000_000_000)
                    }
                    try await writer.finish(nil)
                })
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        let rest = parts[3]
        guard let slash = rest.firstIndex(of: "/") else { return error(404, code: "EntryNotFound") }
        let revision = rest[..<slash]
        let name = String(rest[rest.index(after: slash)...])
        guard revision == "main" || revision == commit else { return error(404, code: "RevisionNotFound") }
        guard let file = repoFiles[name] else { return error(404, code: "EntryNotFound") }
        var fields = HTTPFields()
        fields[Field.Name("X-Repo-Commit")!] = commit
        fields[.eTag] = "\"\(gitBlobID(file.data))\""
        if file.lfs {
            let sha = sha256Hex(file.data)
            fields[Field.Name("X-Linked-Etag")!] = "\"\(sha)\""
            fields[Field.Name("X-Linked-Size")!] = "\(file.declaredSize ?? file.data.count)"
            fields[.location] = "http://\(lfsOnHubHost ? "127.0.0.1" : "localhost"):\(port)/cdn/\(sha)"
            return Response(status: .found, headers: fields)
        }
        fields[.contentLength] = "\(file.data.count)"
        return Response(status: .ok, headers: fields, body: method == "HEAD" ? .init() : .init(byteBuffer: ByteBuffer(bytes: file.data)))
    }

    private func cdn(_ sha: String, range: String?, method: String) -> Response {
        guard let (name, file) = repos.values.flatMap({ $0 }).first(where: { $0.value.lfs && sha256Hex($0.value.data) == sha }) else {
            return Response(status: .notFound)
        }
        var data = file.data
        var start = 0
        var status = HTTPResponse.Status.ok
        var fields = HTTPFields()
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let s = Int(range.dropFirst(6).dropLast()) {
            guard s < data.count else { return Response(status: .rangeNotSatisfiable) }
            start = s
            status = .partialContent
            fields[.contentRange] = "bytes \(s)-\(data.count - 1)/\(data.count)"
        }
        data = data.subdata(in: start..<data.count)
        fields[.contentLength] = "\(data.count)"
        if method == "HEAD" { return Response(status: status, headers: fields) }
        let (cut, corrupt) = lock.withLock { (take(&_cut, name), take(&_corrupt, name)) }
        if corrupt { data[data.count / 2] ^= 0x01 }
        if cut {
            let half = data.prefix(data.count / 2)
            return Response(status: status, headers: fields, body: ResponseBody(contentLength: data.count) { writer in
                try await writer.write(ByteBuffer(bytes: half))
                throw CancellationError()  // closes the connection midway
            })
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func error(_ status: Int, code: String) -> Response {
        var fields = HTTPFields()
        fields[Field.Name("X-Error-Code")!] = code
        return Response(status: .init(code: status), headers: fields)
    }
}

import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// The fixture cache written by Python's huggingface_hub (Scripts/make_hf_cache_fixture.py).
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/python-cache")
    static let repo = "skt/kobert-base-v1"
    static let folder = root.appendingPathComponent("models--skt--kobert-base-v1")
    static var commit: String {
        (try? String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8)) ?? "missing-fixture"
    }
    static func file(_ name: String) -> Data {
        (try? Data(contentsOf: folder.appendingPathComponent("snapshots/\(commit)/\(name)"))) ?? Data()
    }
}

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
func gitBlobID(_ data: Data) -> String {
    Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data).map { String(format: "%02x", $0) }.joined()
}

/// An in-process Hub on 127.0.0.1 (ephemeral port) serving one repository laid out like
/// skt/kobert-base-v1 with the Hub's headers: the revision API; resolve URLs with X-Repo-Commit and
/// ETag (git blob id) for regular files, or a 302 to a "CDN" (`http://localhost:PORT/cdn/<sha256>`,
/// another host name than the endpoint's 127.0.0.1) with X-Linked-Etag / X-Linked-Size for LFS
/// files; Range support on the CDN. `skt/old-name` redirects (relative, 307) to the repository, as a
/// renamed repository does. Every request is recorded.
final class FakeHub: @unchecked Sendable {
    struct Logged: Sendable {
        let method: String
        let path: String
        let authorization: String?
        let range: String?
    }

    struct RepoFile {
        let data: Data
        let lfs: Bool
    }

    let files: [String: RepoFile]
    let commit = Fixture.commit
    private let lock = NSLock()
    private var _log: [Logged] = []
    private var _port = 0
    /// File names whose next CDN downloads are cut off midway (count per name).
    private var _cut: [String: Int] = [:]
    /// File names whose next CDN downloads get one byte flipped (count per name).
    private var _corrupt: [String: Int] = [:]
    /// If set, hub requests need `Authorization: Bearer <token>` (a gated repository).
    var requiredToken: String? {
        get { lock.withLock { _requiredToken } }
        set { lock.withLock { _requiredToken = newValue } }
    }
    private var _requiredToken: String?

    init() {
        var files: [String: RepoFile] = [
            ".gitattributes": RepoFile(data: Data("*.bin filter=lfs diff=lfs merge=lfs -text\n".utf8), lfs: false),
            "README.md": RepoFile(data: Data("# fake kobert-base-v1\n".utf8), lfs: false),
        ]
        for name in ["config.json", "tokenizer_config.json"] { files[name] = RepoFile(data: Fixture.file(name), lfs: false) }
        for name in ["pytorch_model.bin", "spiece.model"] { files[name] = RepoFile(data: Fixture.file(name), lfs: true) }
        self.files = files
    }

    var log: [Logged] { lock.withLock { _log } }
    var port: Int { lock.withLock { _port } }
    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }
    func clearLog() { lock.withLock { _log.removeAll() } }
    func cutNext(_ file: String, times: Int = 1) { lock.withLock { _cut[file, default: 0] += times } }
    func corruptNext(_ file: String, times: Int = 1) { lock.withLock { _corrupt[file, default: 0] += times } }

    private func take(_ dict: inout [String: Int], _ key: String) -> Bool {
        guard let n = dict[key], n > 0 else { return false }
        dict[key] = n - 1
        return true
    }

    /// Runs `body` with the server listening; stops it afterwards.
    func run<T: Sendable>(_ body: @Sendable (FakeHub) async throws -> T) async throws -> T {
        setenv("LOG_LEVEL", "error", 1)
        let router = Router()
        router.get("**") { request, _ in self.respond(request, method: "GET") }
        router.head("**") { request, _ in self.respond(request, method: "HEAD") }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            self.lock.withLock { self._port = client.port ?? 0 }
            return try await body(self)
        }
    }

    private func respond(_ request: Request, method: String) -> Response {
        let path = request.uri.path
        let auth = request.headers[.authorization]
        let range = request.headers[.range]
        lock.withLock { _log.append(Logged(method: method, path: path, authorization: auth, range: range)) }
        let repo = "/" + Fixture.repo
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
        if path.hasPrefix(api) {
            let rest = path.dropFirst(api.count)
            guard rest.hasPrefix(Fixture.repo + "/revision/") else { return error(404, code: "RepoNotFound") }
            let revision = rest.dropFirst(Fixture.repo.count + "/revision/".count)
            guard revision == "main" || revision == commit else { return error(404, code: "RevisionNotFound") }
            let siblings = files.keys.sorted().map { ["rfilename": $0] }
            let json = try! JSONSerialization.data(withJSONObject: ["id": Fixture.repo, "sha": commit, "siblings": siblings])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        let resolve = repo + "/resolve/"
        guard path.hasPrefix(resolve) else { return error(404, code: "RepoNotFound") }
        let rest = path.dropFirst(resolve.count)
        guard let slash = rest.firstIndex(of: "/") else { return error(404, code: "EntryNotFound") }
        let revision = rest[..<slash]
        let name = String(rest[rest.index(after: slash)...])
        guard revision == "main" || revision == commit else { return error(404, code: "RevisionNotFound") }
        guard let file = files[name] else { return error(404, code: "EntryNotFound") }
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Repo-Commit")!] = commit
        fields[.eTag] = "\"\(gitBlobID(file.data))\""
        if file.lfs {
            let sha = sha256Hex(file.data)
            fields[HTTPField.Name("X-Linked-Etag")!] = "\"\(sha)\""
            fields[HTTPField.Name("X-Linked-Size")!] = "\(file.data.count)"
            fields[.location] = "http://localhost:\(port)/cdn/\(sha)"
            return Response(status: .found, headers: fields)
        }
        fields[.contentLength] = "\(file.data.count)"
        return Response(status: .ok, headers: fields, body: method == "HEAD" ? .init() : .init(byteBuffer: ByteBuffer(bytes: file.data)))
    }

    private func cdn(_ sha: String, range: String?, method: String) -> Response {
        guard let (name, file) = files.first(where: { $0.value.lfs && sha256Hex($0.value.data) == sha }) else {
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
        fields[HTTPField.Name("X-Error-Code")!] = code
        return Response(status: .init(code: status), headers: fields)
    }
}

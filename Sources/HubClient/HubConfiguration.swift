import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Where the Hub is, where the cache is, and how to authenticate — read from the same environment
/// variables as Python's huggingface_hub:
/// - `HF_ENDPOINT`: the Hub (default `https://huggingface.co`).
/// - `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `HF_HOME/hub`, else
///   `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. `HF_HOME`, the cache and
///   `HF_TOKEN_PATH` get `~`, `~user`, `$VAR` and `${VAR}` expanded as Python's `os.path.expanduser` and
///   `expandvars` do (an unset variable stays as written).
/// - `HF_TOKEN` (else the file `HF_TOKEN_PATH`, else `HF_HOME/token`, as `huggingface-cli login` writes it):
///   sent as a bearer token to the Hub's host only; never printed.
/// - `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) = 1/ON/YES/TRUE: use the cache only, no request.
/// - `HF_HUB_ETAG_TIMEOUT` (connect and metadata requests, default 10 s and 30 s),
///   `HF_HUB_DOWNLOAD_TIMEOUT` (longest silence during a download, default 60 s).
public struct HubConfiguration: Sendable {
    public var endpoint: URL
    public var cacheDirectory: URL
    public var offline: Bool
    /// Seconds to wait for a connection.
    public var connectTimeout: Double = 10
    /// Seconds a metadata request (revision lookup, file metadata) may take in all.
    public var requestTimeout: Double = 30
    /// Seconds a download may go without receiving a byte.
    public var readTimeout: Double = 60
    /// Interrupted transfers resumed (with `Range`) within one run before giving up.
    public var maxResumes = 3
    /// Seconds of waiting for another process's lock on a file before saying so, then between notices.
    public var lockNoticeAfter: Double = 5
    public var lockNoticeEvery: Double = 10
    private var tokenStorage: String?

    /// The bearer token, if any. Not part of `description`.
    public var token: String? {
        get { tokenStorage }
        set { tokenStorage = newValue }
    }

    public init(endpoint: URL, cacheDirectory: URL, token: String? = nil, offline: Bool = false) throws {
        self.endpoint = try Self.validatedEndpoint(endpoint.absoluteString)
        self.cacheDirectory = cacheDirectory
        self.tokenStorage = try token.flatMap(Self.validatedToken)
        self.offline = offline
    }

    /// Reads the settings from `environment` (the process environment by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func value(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        // As huggingface_hub's constants.py: expandvars(expanduser(...)) of HF_HOME (whose default
        // joins XDG_CACHE_HOME), of HF_HUB_CACHE (defaulting to HUGGINGFACE_HUB_CACHE, else HF_HOME/hub)
        // and of HF_TOKEN_PATH (default HF_HOME/token).
        func expand(_ text: String) -> String { Self.expandVariables(Self.expandUser(text, environment), environment) }
        func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
        let homeText = expand(value("HF_HOME") ?? join(value("XDG_CACHE_HOME") ?? join(Self.expandUser("~", environment), ".cache"), "huggingface"))
        let cache = URL(fileURLWithPath: expand(value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? join(homeText, "hub")))
        let endpoint = try Self.validatedEndpoint(value("HF_ENDPOINT") ?? "https://huggingface.co")

        var token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let file = URL(fileURLWithPath: expand(value("HF_TOKEN_PATH") ?? join(homeText, "token")))
            if let data = try? Data(contentsOf: file), data.count <= 4096 {
                token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if token?.isEmpty == true { token = nil }
            }
        }
        let truthy: Set<String> = ["1", "ON", "YES", "TRUE"]
        let offline = [value("HF_HUB_OFFLINE"), value("TRANSFORMERS_OFFLINE")].contains { $0.map { truthy.contains($0.uppercased()) } ?? false }

        // huggingface_hub's timeouts (seconds): metadata requests, and a download's silence.
        if let t = value("HF_HUB_ETAG_TIMEOUT") {
            guard let s = Double(t), s > 0, s <= 3600 else { throw HubError.invalidConfiguration("HF_HUB_ETAG_TIMEOUT", "'\(t)' is not a number of seconds in (0, 3600]") }
            connectTimeout = s
            requestTimeout = s
        }
        if let t = value("HF_HUB_DOWNLOAD_TIMEOUT") {
            guard let s = Double(t), s > 0, s <= 3600 else { throw HubError.invalidConfiguration("HF_HUB_DOWNLOAD_TIMEOUT", "'\(t)' is not a number of seconds in (0, 3600]") }
            readTimeout = s
        }
        self.endpoint = endpoint
        self.cacheDirectory = cache
        self.tokenStorage = try token.flatMap(Self.validatedToken)
        self.offline = offline
    }

    /// `~` and `~user` at the start of `path`, as Python's `posixpath.expanduser`: `~` is `$HOME`
    /// (else the user's home in the password database), `~user` that user's home; an unknown user
    /// leaves the path as it is.
    static func expandUser(_ path: String, _ environment: [String: String]) -> String {
        guard path.hasPrefix("~") else { return path }
        let slash = path.dropFirst().firstIndex(of: "/") ?? path.endIndex
        let name = String(path[path.index(after: path.startIndex)..<slash])
        var home: String
        if name.isEmpty {
            if let h = environment["HOME"] {
                home = h
            } else if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir {
                home = String(cString: dir)
            } else {
                return path
            }
        } else {
            guard let pw = getpwnam(name), let dir = pw.pointee.pw_dir else { return path }
            home = String(cString: dir)
        }
        while home.hasSuffix("/") { home.removeLast() }
        let result = home + path[slash...]
        return result.isEmpty ? "/" : result
    }

    /// `$NAME` (ASCII letters, digits, `_`) and `${NAME}` replaced by the variable's value, as Python's
    /// `posixpath.expandvars`; an unset variable stays as written.
    static func expandVariables(_ path: String, _ environment: [String: String]) -> String {
        guard path.contains("$") else { return path }
        let s = Array(path.unicodeScalars)
        func isWord(_ c: Unicode.Scalar) -> Bool {
            (c >= "0" && c <= "9") || (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "_"
        }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "$", i + 1 < s.count else {
                out.append(s[i])
                i += 1
                continue
            }
            var nameRange: Range<Int>?
            var end = i + 1
            if s[i + 1] == "{", let close = s[(i + 2)...].firstIndex(of: "}") {
                nameRange = (i + 2)..<close
                end = close + 1
            } else if isWord(s[i + 1]) {
                end = i + 1
                while end < s.count && isWord(s[end]) { end += 1 }
                nameRange = (i + 1)..<end
            }
            guard let nameRange else {
                out.append(s[i])
                i += 1
                continue
            }
            var name = String.UnicodeScalarView()
            name.append(contentsOf: s[nameRange])
            if let value = environment[String(name)] {
                out.append(contentsOf: value.unicodeScalars)
            } else {
                out.append(contentsOf: s[i..<end])
            }
            i = end
        }
        return String(out)
    }

    static func validatedEndpoint(_ text: String) throws -> URL {
        var t = text
        while t.hasSuffix("/") { t.removeLast() }
        guard let url = URL(string: t), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw HubError.invalidConfiguration("HF_ENDPOINT", "'\(text)' is not an http(s) URL without user, query or fragment")
        }
        return url
    }

    /// A header value: printable ASCII, no spaces (the message never repeats the token).
    static func validatedToken(_ token: String) throws -> String? {
        if token.isEmpty { return nil }
        guard token.utf8.count <= 1024, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HubError.invalidConfiguration("HF_TOKEN", "the token has characters a header cannot carry (spaces, line breaks, non-ASCII) or is longer than 1024 bytes")
        }
        return token
    }
}

extension HubConfiguration: CustomStringConvertible {
    public var description: String {
        "HubConfiguration(endpoint: \(endpoint.absoluteString), cache: \(cacheDirectory.path), token: \(token == nil ? "none" : "set"), offline: \(offline))"
    }
}

import Foundation

/// A model repository on the Hub, `owner/name`. Both parts become a cache folder name
/// (`models--owner--name`), so they are validated strictly: 1–96 ASCII letters, digits, `-`, `_`, `.`;
/// not starting or ending with `-` or `.`; no `--` or `..`; not ending in `.git` (the Hub's own rules,
/// as huggingface_hub's `validate_repo_id` checks them).
public struct RepoID: Hashable, Sendable, CustomStringConvertible {
    public let owner: String
    public let name: String

    public init(owner: String, name: String) throws {
        try Self.validatePart(owner, of: "\(owner)/\(name)")
        try Self.validatePart(name, of: "\(owner)/\(name)")
        self.owner = owner
        self.name = name
    }

    /// Parses `owner/name`.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw HubError.invalidReference(text, "a Hub repository id has the form owner/name")
        }
        try self.init(owner: String(parts[0]), name: String(parts[1]))
    }

    public var description: String { "\(owner)/\(name)" }

    /// The repository's folder in the cache, as huggingface_hub names it.
    public var cacheFolderName: String { "models--\(owner)--\(name)" }

    static func validatePart(_ part: String, of id: String) throws {
        let scalars = Array(part.unicodeScalars)
        guard (1...96).contains(scalars.count) else {
            throw HubError.invalidReference(id, "each part of owner/name has 1 to 96 characters")
        }
        for s in scalars {
            let ok = ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "-" || s == "_" || s == "."
            guard ok else {
                throw HubError.invalidReference(id, "only ASCII letters, digits, '-', '_' and '.' are allowed")
            }
        }
        if let first = scalars.first, let last = scalars.last, first == "-" || first == "." || last == "-" || last == "." {
            throw HubError.invalidReference(id, "a part cannot start or end with '-' or '.'")
        }
        if part.contains("--") || part.contains("..") {
            throw HubError.invalidReference(id, "'--' and '..' are not allowed")
        }
        if part.hasSuffix(".git") {
            throw HubError.invalidReference(id, "a part cannot end with '.git'")
        }
    }
}

/// Branch, tag or commit names. They become `refs/<revision>` paths in the cache, so: 1–256 ASCII
/// letters, digits, `-`, `_`, `.`, `/`; no empty, `.`-leading or `..` components; no leading or
/// trailing `/`.
enum Revision {
    static func validate(_ revision: String, of id: String) throws {
        let scalars = Array(revision.unicodeScalars)
        guard (1...256).contains(scalars.count) else {
            throw HubError.invalidReference(id, "a revision has 1 to 256 characters")
        }
        for s in scalars {
            let ok = ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
                || s == "-" || s == "_" || s == "." || s == "/"
            guard ok else {
                throw HubError.invalidReference(id, "a revision uses only ASCII letters, digits, '-', '_', '.' and '/'")
            }
        }
        for component in revision.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty, !component.hasPrefix(".") else {
                throw HubError.invalidReference(id, "a revision has no empty or '.'-leading path components")
            }
        }
        if revision.contains("..") {
            throw HubError.invalidReference(id, "'..' is not allowed in a revision")
        }
    }

    /// A full commit hash (40 lowercase hex digits), as huggingface_hub's `REGEX_COMMIT_HASH`.
    static func isCommitHash(_ text: String) -> Bool {
        let u = Array(text.utf8)
        return u.count == 40 && u.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// What `--model` names: a local directory (an existing path always wins) or a Hub repository.
public enum ModelReference: Equatable, Sendable {
    case local(URL)
    case hub(RepoID, revision: String)

    /// `path`, or `owner/name`, or `owner/name@revision` (branch, tag or commit; default `main`).
    /// An existing local path is always taken as local, even if it also reads as a repository id.
    public static func parse(_ text: String, fileManager: FileManager = .default) throws -> ModelReference {
        if fileManager.fileExists(atPath: text) {
            return .local(URL(fileURLWithPath: text))
        }
        guard !text.hasPrefix("/"), !text.hasPrefix("."), !text.hasPrefix("~") else {
            throw HubError.invalidReference(text, "no such local path")
        }
        do {
            let (repo, revision) = try parseRepository(text)
            return .hub(repo, revision: revision)
        } catch HubError.invalidReference(_, let reason) {
            throw HubError.invalidReference(text, "not an existing local path, nor a Hub repository id owner/name[@revision]: \(reason)")
        }
    }

    /// `owner/name` or `owner/name@revision` (default revision `main`), without looking at local paths.
    public static func parseRepository(_ text: String) throws -> (RepoID, revision: String) {
        let id: String
        let revision: String
        if let at = text.firstIndex(of: "@") {
            id = String(text[..<at])
            revision = String(text[text.index(after: at)...])
        } else {
            id = text
            revision = "main"
        }
        let repo: RepoID
        do {
            repo = try RepoID(id)
        } catch HubError.invalidReference(_, let reason) {
            throw HubError.invalidReference(text, reason)
        }
        try Revision.validate(revision, of: text)
        return (repo, revision)
    }
}

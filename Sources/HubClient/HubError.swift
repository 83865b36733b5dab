import Foundation

/// What went wrong, naming the repository, revision, file or path. Messages never contain the token.
public enum HubError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// `--model` text that is neither an existing local path nor a valid `owner/name[@revision]`.
    case invalidReference(String, String)
    /// A bad environment setting (HF_ENDPOINT, HF_TOKEN, …): the variable and the reason.
    case invalidConfiguration(String, String)
    /// 404 (or 401 with the Hub's RepoNotFound) for the repository.
    case repositoryNotFound(repo: String, endpoint: String, tokenSent: Bool)
    /// The repository exists but not this branch, tag or commit.
    case revisionNotFound(repo: String, revision: String)
    /// 401/403: gated or private.
    case accessDenied(repo: String, status: Int, tokenSent: Bool, gated: Bool)
    /// A file the model needs is not in the repository at that revision.
    case fileNotFound(repo: String, revision: String, file: String)
    /// The repository has no weights this tool reads.
    case noWeights(repo: String, revision: String)
    /// The Hub could not be reached (connection refused, DNS, timeout, TLS).
    case network(host: String, detail: String)
    /// A transfer broke off and could not be resumed within this run.
    case transferInterrupted(file: String, done: Int64, total: Int64, detail: String)
    /// HF_HUB_OFFLINE is set and the cache lacks what is needed.
    case notCached(repo: String, revision: String, cache: String, missing: String)
    /// The server answered something this tool does not accept (bad JSON, sizes, headers).
    case badResponse(what: String, reason: String)
    /// An unexpected HTTP status.
    case httpStatus(what: String, status: Int)
    /// A downloaded LFS file whose SHA-256 differs from the one the Hub declared, twice.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// Not enough room on the disk.
    case diskFull(path: String, needed: Int64?, available: Int64?)
    /// Any other file-system failure.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let text, let reason):
            return "invalid model reference '\(text)': \(reason)"
        case .invalidConfiguration(let variable, let reason):
            return "invalid \(variable): \(reason)"
        case .repositoryNotFound(let repo, let endpoint, let tokenSent):
            return "repository \(repo) not found on \(endpoint)"
                + (tokenSent ? " (or the token in HF_TOKEN has no access to it)" : " (if it is private or gated, set HF_TOKEN to a token with access)")
        case .revisionNotFound(let repo, let revision):
            return "revision '\(revision)' not found in repository \(repo)"
        case .accessDenied(let repo, let status, let tokenSent, let gated):
            let what = gated ? "is gated" : "is private or gated"
            return "access to \(repo) denied (HTTP \(status)): the repository \(what); "
                + (tokenSent ? "the token in HF_TOKEN has no access to it (accept its conditions on the Hub, or use another token)" : "set HF_TOKEN to a token with access")
        case .fileNotFound(let repo, let revision, let file):
            return "file '\(file)' not found in repository \(repo) at revision \(revision)"
        case .noWeights(let repo, let revision):
            return "repository \(repo) at revision \(revision) has no model.safetensors or pytorch_model.bin (nor a sharded *.index.json form)"
        case .network(let host, let detail):
            return "cannot reach \(host) (\(detail)); check the network connection, or set HF_HUB_OFFLINE=1 to use only the local cache, or pass a local model directory"
        case .transferInterrupted(let file, let done, let total, let detail):
            return "download of \(file) interrupted at \(done) of \(total) bytes (\(detail)); run the command again to resume"
        case .notCached(let repo, let revision, let cache, let missing):
            return "HF_HUB_OFFLINE is set and \(repo)@\(revision) is not in the cache \(cache) (\(missing)); unset HF_HUB_OFFLINE to download it, or pass a local model directory"
        case .badResponse(let what, let reason):
            return "unexpected answer for \(what): \(reason)"
        case .httpStatus(let what, let status):
            return "HTTP \(status) for \(what)"
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): downloaded twice and its SHA-256 is \(actual) both times, not \(expected) as the Hub declares; the transfer is corrupted (proxy?)"
        case .diskFull(let path, let needed, let available):
            var text = "no space left on the device for \(path)"
            if let needed, let available { text += " (need \(needed) bytes, \(available) available)" }
            return text + "; free space or set HF_HUB_CACHE to another disk"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

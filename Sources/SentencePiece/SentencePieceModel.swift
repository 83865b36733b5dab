import Foundation

/// A SentencePiece model read from a `.model` file (the `ModelProto` protobuf), encoding text
/// exactly as sentencepiece's `SentencePieceProcessor` does: normalization from the model's own
/// precompiled charsmap, then Unigram Viterbi segmentation, with runs of unknown characters merged
/// into one unknown piece.
public final class SentencePieceModel: Sendable {
    /// Every piece, indexed by id.
    public let pieces: [String]
    /// The id of the unknown piece (type UNKNOWN).
    public let unknownID: Int

    private let types: [ModelProto.PieceType]
    private let scores: [Float]
    /// NORMAL, USER_DEFINED and UNUSED pieces, as sentencepiece's model trie.
    private let pieceTrie: ByteTrie
    /// CONTROL, UNKNOWN and BYTE pieces, found only by exact lookup.
    private let reservedIDs: [String: Int]
    private let normalizer: Normalizer
    private let minScore: Float
    private let maxScore: Float

    /// The Unigram model trained on the seed dataset's sentences (5,800 pieces, KoBERT's layout:
    /// [UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4), shipped with this library.
    public static var builtInEmotionDialogue: URL {
        Bundle.module.bundleURL.appendingPathComponent("emotion-dialogue.model")
    }

    /// Reads a model file; throws `SentencePieceError` if it cannot be read or is malformed.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SentencePieceError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data)
    }

    /// Reads a model from the bytes of a `.model` file; throws `SentencePieceError` if malformed.
    public init(data: Data) throws {
        let proto = try ModelProto(bytes: [UInt8](data))
        guard !proto.pieces.isEmpty else { throw SentencePieceError.invalidModel("the model has no pieces") }
        guard proto.trainerSpec.modelType == .unigram else {
            throw SentencePieceError.unsupported("model_type \(proto.trainerSpec.modelType); only Unigram models are implemented")
        }
        guard !proto.trainerSpec.byteFallback else {
            throw SentencePieceError.unsupported("byte_fallback is not implemented")
        }

        var trieEntries = [(key: [UInt8], value: Int32)]()
        var userDefinedEntries = [(key: [UInt8], value: Int32)]()
        var reserved = [String: Int]()
        var seen = Set<String>()
        var unknown: Int?
        var minScore = Float.greatestFiniteMagnitude
        var maxScore = Float.leastNormalMagnitude  // sentencepiece starts from FLT_MIN
        for (id, piece) in proto.pieces.enumerated() {
            guard !piece.piece.isEmpty else { throw SentencePieceError.invalidModel("piece \(id) is empty") }
            guard seen.insert(piece.piece).inserted else {
                throw SentencePieceError.invalidModel("piece \(id) \"\(piece.piece)\" is already defined")
            }
            switch piece.type {
            case .normal, .userDefined, .unused:
                trieEntries.append((Array(piece.piece.utf8), Int32(id)))
                if piece.type == .userDefined { userDefinedEntries.append((Array(piece.piece.utf8), Int32(id))) }
            case .unknown, .control, .byte:
                reserved[piece.piece] = id
            }
            if piece.type == .unknown {
                guard unknown == nil else { throw SentencePieceError.invalidModel("more than one unknown piece (ids \(unknown!) and \(id))") }
                unknown = id
            }
            if piece.type == .normal {
                minScore = min(minScore, piece.score)
                maxScore = max(maxScore, piece.score)
            }
        }
        guard let unknown else { throw SentencePieceError.invalidModel("the model has no unknown piece") }

        pieces = proto.pieces.map(\.piece)
        types = proto.pieces.map(\.type)
        scores = proto.pieces.map(\.score)
        unknownID = unknown
        pieceTrie = ByteTrie(trieEntries)
        reservedIDs = reserved
        self.minScore = minScore
        self.maxScore = maxScore
        normalizer = try Normalizer(
            spec: proto.normalizerSpec,
            treatWhitespaceAsSuffix: proto.trainerSpec.treatWhitespaceAsSuffix,
            userDefined: userDefinedEntries.isEmpty ? nil : ByteTrie(userDefinedEntries))
    }

    /// The number of pieces.
    public var count: Int { pieces.count }

    /// The id of `piece`, or nil if the model has no such piece (sentencepiece's `PieceToId`
    /// answers the unknown id instead).
    public func id(of piece: String) -> Int? {
        if let id = reservedIDs[piece] { return id }
        return pieceTrie.exactMatch(piece.utf8)
    }

    /// The piece with id `id`, or nil if out of range.
    public func piece(for id: Int) -> String? {
        pieces.indices.contains(id) ? pieces[id] : nil
    }

    /// `text` as sentencepiece normalizes it before segmentation (spaces shown as `▁`).
    public func normalize(_ text: String) -> String {
        var normalized = [UInt8]()
        Self.withUTF8(text) { normalizer.normalize($0, into: &normalized) }
        return String(decoding: normalized, as: UTF8.self)
    }

    /// The ids of `text`'s pieces (sentencepiece's `EncodeAsIds`).
    public func encode(_ text: String) -> [Int] {
        var scratch = Scratch()
        return Self.withUTF8(text) { encode(utf8: $0, scratch: &scratch).map { Int($0.id) } }
    }

    /// `text`'s pieces (sentencepiece's `EncodeAsPieces`).
    public func encodeAsPieces(_ text: String) -> [String] {
        var scratch = Scratch()
        return Self.withUTF8(text) { bytes in
            let segments = encode(utf8: bytes, scratch: &scratch)
            return segments.map { scratch.pieceText($0) }
        }
    }

    // MARK: - Internal encoding API (used by the token pipelines)

    /// One piece of a segmentation: a byte range of the normalized text and the piece's id.
    struct Segment {
        var start: Int
        var end: Int
        var id: Int
    }

    /// Reusable buffers for encoding, so that a pipeline encoding many words allocates little.
    struct Scratch {
        var normalized = [UInt8]()
        var bestScore = [Float]()
        var bestStart = [Int]()
        var bestID = [Int]()

        /// The text of a segment of the last normalized input.
        func pieceText(_ segment: Segment) -> String {
            String(decoding: normalized[segment.start..<segment.end], as: UTF8.self)
        }
    }

    /// Normalizes and segments UTF-8 text (sentencepiece's `Encode`); the segments index
    /// `scratch.normalized`.
    func encode(utf8 input: UnsafeBufferPointer<UInt8>, scratch: inout Scratch) -> [Segment] {
        normalizer.normalize(input, into: &scratch.normalized)
        return scratch.normalized.withUnsafeBufferPointer { viterbi($0, scratch: &scratch) }
    }

    /// sentencepiece's optimized Unigram Viterbi (`EncodeOptimized`): the best path ending at each
    /// byte offset, pieces found by walking the trie from each character start; a character that
    /// starts no piece of its own becomes an unknown node scored `min_score - 10`. Arithmetic
    /// follows the C++ types (float path scores, double candidates for piece nodes) so ties break
    /// identically. Runs of unknown pieces are then merged into one.
    private func viterbi(_ text: UnsafeBufferPointer<UInt8>, scratch: inout Scratch) -> [Segment] {
        let size = text.count
        guard size > 0 else { return [] }
        let unknownScore = minScore - 10
        scratch.bestScore.removeAll(keepingCapacity: true)
        scratch.bestScore.append(contentsOf: repeatElement(0, count: size + 1))
        scratch.bestStart.removeAll(keepingCapacity: true)
        scratch.bestStart.append(contentsOf: repeatElement(-1, count: size + 1))
        scratch.bestID.removeAll(keepingCapacity: true)
        scratch.bestID.append(contentsOf: repeatElement(-1, count: size + 1))

        scratch.bestScore.withUnsafeMutableBufferPointer { bestScore in
        scratch.bestStart.withUnsafeMutableBufferPointer { bestStart in
        scratch.bestID.withUnsafeMutableBufferPointer { bestID in
            var start = 0
            while start < size {
                let scoreTillHere = bestScore[start]
                let characterLength = min(Normalizer.oneCharLength(text[start]), size - start)
                var hasSingleNode = false
                var node = 0
                var position = start
                while position < size, let next = pieceTrie.child(node, text[position]) {
                    node = next
                    position += 1
                    guard let id = pieceTrie.value(node), types[id] != .unused else { continue }
                    let length = position - start
                    let score: Double = types[id] == .userDefined
                        ? Double(Float(length) * maxScore) - 0.1
                        : Double(scores[id])
                    let candidate = score + Double(scoreTillHere)
                    if bestStart[position] == -1 || candidate > Double(bestScore[position]) {
                        bestScore[position] = Float(candidate)
                        bestStart[position] = start
                        bestID[position] = id
                    }
                    if length == characterLength { hasSingleNode = true }
                }
                if !hasSingleNode {
                    let end = start + characterLength
                    let candidate = unknownScore + scoreTillHere
                    if bestStart[end] == -1 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        bestStart[end] = start
                        bestID[end] = unknownID
                    }
                }
                start += characterLength
            }
        }
        }
        }

        var segments = [Segment]()
        var end = size
        while end > 0 {
            let start = scratch.bestStart[end]
            let id = scratch.bestID[end]
            if id == unknownID, let last = segments.last, last.id == unknownID {
                segments[segments.count - 1].start = start  // merge a run of unknown pieces
            } else {
                segments.append(Segment(start: start, end: end, id: id))
            }
            end = start
        }
        segments.reverse()
        return segments
    }

    /// Calls `body` with `text`'s UTF-8 bytes.
    static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }
}

import Foundation

/// A SentencePiece model read from a `.model` file (the `ModelProto` protobuf), encoding text
/// exactly as sentencepiece's `SentencePieceProcessor` does: normalization from the model's own
/// precompiled charsmap, then Unigram Viterbi segmentation (or BPE merges for BPE models), with
/// runs of unknown characters merged into one unknown piece.
public final class SentencePieceModel: Sendable {
    /// Every piece, indexed by id.
    public let pieces: [String]
    /// The id of the unknown piece (type UNKNOWN).
    public let unknownID: Int

    private let modelType: ModelProto.ModelType
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
        guard proto.trainerSpec.modelType == .unigram || proto.trainerSpec.modelType == .bpe else {
            throw SentencePieceError.unsupported("model_type \(proto.trainerSpec.modelType); only Unigram and BPE models are implemented")
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
                if let previous = unknown {
                    throw SentencePieceError.invalidModel("more than one unknown piece (ids \(previous) and \(id))")
                }
                unknown = id
            }
            if piece.type == .normal {
                minScore = min(minScore, piece.score)
                maxScore = max(maxScore, piece.score)
            }
        }
        guard let unknown else { throw SentencePieceError.invalidModel("the model has no unknown piece") }

        modelType = proto.trainerSpec.modelType
        normalizationRuleName = proto.normalizerSpec.name
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

    /// The normalizer spec's rule name (`nmt_nfkc` for KoBERT's model, `identity` for none).
    public let normalizationRuleName: String

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
        let normalized = scratch.normalized
        let segments = normalized.withUnsafeBufferPointer { text in
            modelType == .bpe ? bpe(text) : viterbi(text, scratch: &scratch)
        }
        return mergingUnknownRuns(segments)
    }

    /// sentencepiece's processor merges each run of unknown pieces into one unknown piece.
    private func mergingUnknownRuns(_ segments: [Segment]) -> [Segment] {
        var segments = segments
        var kept = 0
        for index in segments.indices {
            if kept > 0 && segments[index].id == unknownID && segments[kept - 1].id == unknownID {
                segments[kept - 1].end = segments[index].end
            } else {
                segments[kept] = segments[index]
                kept += 1
            }
        }
        segments.removeLast(segments.count - kept)
        return segments
    }

    /// sentencepiece's optimized Unigram Viterbi (`EncodeOptimized`): the best path ending at each
    /// byte offset, pieces found by walking the trie from each character start; a character that
    /// starts no piece of its own becomes an unknown node scored `min_score - 10`. Arithmetic
    /// follows the C++ types (float path scores, double candidates for piece nodes) so ties break
    /// identically.
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
            segments.append(Segment(start: start, end: end, id: scratch.bestID[end]))
            end = start
        }
        segments.reverse()
        return segments
    }

    /// sentencepiece's BPE encoding (bpe_model.cc): start from characters (user-defined symbols
    /// whole and frozen), repeatedly merge the adjacent pair that forms the highest-scoring piece
    /// (leftmost on ties), then split any UNUSED piece back along the merge that made it.
    private func bpe(_ text: UnsafeBufferPointer<UInt8>) -> [Segment] {
        struct Symbol {
            var start: Int, end: Int, previous: Int, next: Int, frozen: Bool
        }
        var symbols = [Symbol]()
        var position = 0
        while position < text.count {
            let userDefined = normalizer.userDefinedPrefixLength(text, position)
            let length = userDefined > 0 ? userDefined : min(Normalizer.oneCharLength(text[position]), text.count - position)
            symbols.append(Symbol(start: position, end: position + length, previous: symbols.count - 1,
                                  next: position + length < text.count ? symbols.count + 1 : -1, frozen: userDefined > 0))
            position += length
        }
        var agenda = PairHeap()
        var reverseMerges = [ArraySlice<UInt8>: (Range<Int>, Range<Int>)]()
        let bytes = Array(text)
        func addPair(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, !symbols[left].frozen, !symbols[right].frozen else { return }
            let start = symbols[left].start, end = symbols[right].end
            guard let id = pieceTrie.exactMatch(bytes[start..<end]) else { return }
            agenda.push(.init(left: left, right: right, score: scores[id], size: end - start))
            if types[id] == .unused {
                reverseMerges[bytes[start..<end]] = (start..<symbols[left].end, symbols[right].start..<end)
            }
        }
        for index in symbols.indices.dropFirst() { addPair(index - 1, index) }
        while let top = agenda.pop() {
            let left = symbols[top.left], right = symbols[top.right]
            guard left.start < left.end, right.start < right.end,
                  (left.end - left.start) + (right.end - right.start) == top.size else { continue }
            symbols[top.left].end = right.end
            symbols[top.left].next = right.next
            if right.next >= 0 { symbols[right.next].previous = top.left }
            symbols[top.right].end = symbols[top.right].start  // emptied
            addPair(symbols[top.left].previous, top.left)
            addPair(top.left, symbols[top.left].next)
        }

        var segments = [Segment]()
        func resegment(_ range: Range<Int>) {
            let id = id(ofUTF8: bytes[range])
            if types[id] == .unused, let (left, right) = reverseMerges[bytes[range]] {
                resegment(left)
                resegment(right)
            } else {
                segments.append(Segment(start: range.lowerBound, end: range.upperBound, id: id))
            }
        }
        var index = symbols.isEmpty ? -1 : 0
        while index >= 0 {
            resegment(symbols[index].start..<symbols[index].end)
            index = symbols[index].next
        }
        return segments
    }

    /// sentencepiece's `PieceToId` on UTF-8 bytes: the piece's id, or the unknown id.
    private func id(ofUTF8 piece: ArraySlice<UInt8>) -> Int {
        pieceTrie.exactMatch(piece) ?? reservedIDs[String(decoding: piece, as: UTF8.self)] ?? unknownID
    }

    /// Calls `body` with `text`'s UTF-8 bytes.
    static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }
}

/// A max-heap of candidate BPE merges: higher score first, then the leftmost.
private struct PairHeap {
    struct Pair {
        var left: Int, right: Int, score: Float, size: Int
    }
    private var items = [Pair]()

    private static func precedes(_ a: Pair, _ b: Pair) -> Bool {
        a.score > b.score || (a.score == b.score && a.left < b.left)
    }

    mutating func push(_ pair: Pair) {
        items.append(pair)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Pair? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < items.count && Self.precedes(items[left], items[first]) { first = left }
            if right < items.count && Self.precedes(items[right], items[first]) { first = right }
            if first == parent { break }
            items.swapAt(parent, first)
            parent = first
        }
        return top
    }
}

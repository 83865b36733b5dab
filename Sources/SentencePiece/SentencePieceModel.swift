import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// The pieces the Unigram lattice may use (NORMAL and USER_DEFINED), by characters.
    private let latticeTrie: CharacterTrie
    /// Per id, the score of a lattice node for the piece, as sentencepiece computes it (a
    /// USER_DEFINED piece scores its byte length times the highest score, less 0.1).
    private let latticeScores: [Double]
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
        var latticeEntries = [(key: String, value: Int32)]()
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
                if piece.type != .unused { latticeEntries.append((piece.piece, Int32(id))) }
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
        latticeTrie = CharacterTrie(latticeEntries)
        latticeScores = proto.pieces.map { piece in
            piece.type == .userDefined
                ? Double(Float(piece.piece.utf8.count) * maxScore) - 0.1
                : Double(piece.score)
        }
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
        withScratch { encode(text, scratch: $0) }
    }

    /// `text`'s pieces (sentencepiece's `EncodeAsPieces`).
    public func encodeAsPieces(_ text: String) -> [String] {
        withScratch { scratch in
            Self.withUTF8(text) { bytes in
                encode(utf8: bytes, scratch: scratch).map { scratch.pieceText($0) }
            }
        }
    }

    // MARK: - Internal encoding API (used by the token pipelines and the batch calls)

    /// One piece of a segmentation: a byte range of the normalized text and the piece's id.
    struct Segment {
        var start: Int
        var end: Int
        var id: Int
    }

    /// A node of the Unigram lattice: the best path ending at one byte offset.
    struct LatticeNode {
        var score: Float
        var start: Int32
        var id: Int32
    }

    /// Reusable buffers for encoding, so that encoding many texts allocates little. One per thread.
    final class Scratch {
        /// The last normalized input.
        let normalized = GrowableBuffer<UInt8>(capacity: 1024)
        let lattice = GrowableBuffer<LatticeNode>(capacity: 512)
        /// Per character of the normalized input: its lattice label and its byte offset.
        let characterLabels = GrowableBuffer<Int32>(capacity: 512)
        let characterStarts = GrowableBuffer<Int32>(capacity: 512)
        /// The last segmentation, indexing `normalized`.
        let segments = GrowableBuffer<Segment>(capacity: 256)
        /// UTF-8 staging for the token pipelines.
        let text = GrowableBuffer<UInt8>(capacity: 1024)
        let tokenEnds = GrowableBuffer<Int>(capacity: 128)

        /// The bytes held, to decide whether the scratch is worth keeping.
        var footprint: Int {
            normalized.capacity + lattice.capacity * MemoryLayout<LatticeNode>.stride
                + segments.capacity * MemoryLayout<Segment>.stride + text.capacity + tokenEnds.capacity * 8
                + characterLabels.capacity * 4 + characterStarts.capacity * 4
        }

        /// The text of a segment of the last normalized input.
        func pieceText(_ segment: Segment) -> String {
            String(decoding: UnsafeBufferPointer(start: normalized.base + segment.start, count: segment.end - segment.start),
                   as: UTF8.self)
        }
    }

    /// Whether the gluonnlp pipeline may leave Hangul syllables undecomposed (see
    /// `Normalizer.hangulSyllablesNormalizeLikeJamo`).
    /// Checked over the charsmap (a few milliseconds), so asked once per tokenizer.
    func hangulSyllablesNormalizeLikeJamo() -> Bool { normalizer.hangulSyllablesNormalizeLikeJamo() }

    /// Calls `body` with a scratch that no other call uses meanwhile: the calling thread's own,
    /// kept between calls (see `ThreadScratch`).
    func withScratch<R>(_ body: (Scratch) throws -> R) rethrows -> R {
        let scratch = ThreadScratch.take()
        defer { ThreadScratch.give(scratch) }
        return try body(scratch)
    }

    /// The ids of `text`'s pieces, encoded with `scratch`.
    func encode(_ text: String, scratch: Scratch) -> [Int] {
        Self.withUTF8(text) { bytes in
            let segments = encode(utf8: bytes, scratch: scratch)
            return [Int](unsafeUninitializedCapacity: segments.count) { ids, initialized in
                for k in 0..<segments.count { ids[k] = segments[k].id }
                initialized = segments.count
            }
        }
    }

    /// Normalizes and segments UTF-8 text (sentencepiece's `Encode`). The segments, valid until
    /// the next use of `scratch`, index `scratch.normalized`.
    @discardableResult
    func encode(utf8 input: UnsafeBufferPointer<UInt8>, scratch: Scratch) -> UnsafeBufferPointer<Segment> {
        normalizer.normalize(input, into: scratch.normalized)
        let text = scratch.normalized.buffer
        scratch.segments.count = 0
        if modelType == .bpe {
            let segments = bpe(text)
            scratch.segments.reserve(extra: segments.count)
            for segment in segments { scratch.segments.appendUnchecked(segment) }
        } else {
            viterbi(text, scratch: scratch)
        }
        mergeUnknownRuns(scratch.segments)
        return scratch.segments.buffer
    }

    /// sentencepiece's processor merges each run of unknown pieces into one unknown piece.
    private func mergeUnknownRuns(_ segments: GrowableBuffer<Segment>) {
        let items = segments.base
        let unknownID = unknownID
        var kept = 0
        for index in 0..<segments.count {
            if kept > 0 && items[index].id == unknownID && items[kept - 1].id == unknownID {
                items[kept - 1].end = items[index].end
            } else {
                items[kept] = items[index]
                kept += 1
            }
        }
        segments.count = kept
    }

    /// sentencepiece's optimized Unigram Viterbi (`EncodeOptimized`): the best path ending at each
    /// character boundary, pieces found by walking the trie from each character start; a character
    /// that starts no piece of its own becomes an unknown node scored `min_score - 10`. Characters
    /// are stepped through as sentencepiece does (`OneCharLen`, clipped at the end), and the trie
    /// walk takes one step per character (see `CharacterTrie`). Arithmetic follows the C++ types
    /// (float path scores, double candidates for piece nodes) so ties break identically. Writes the
    /// segments, in order, to `scratch.segments`.
    private func viterbi(_ text: UnsafeBufferPointer<UInt8>, scratch: Scratch) {
        let size = text.count
        guard size > 0, let bytes = text.baseAddress else { return }
        let unknownScore = minScore - 10
        let unknownID = Int32(unknownID)

        latticeTrie.withView { trie in
            // The characters: labels and byte offsets (one more offset: the end).
            scratch.characterLabels.count = 0
            scratch.characterStarts.count = 0
            scratch.characterLabels.reserve(extra: size)
            scratch.characterStarts.reserve(extra: size + 1)
            let labels = scratch.characterLabels.base, starts = scratch.characterStarts.base
            var count = 0
            var start = 0
            while start < size {
                let length = min(Normalizer.oneCharLength(bytes[start]), size - start)
                labels[count] = Int32(truncatingIfNeeded: trie.label(bytes, start, length))
                starts[count] = Int32(truncatingIfNeeded: start)
                count += 1
                start += length
            }
            starts[count] = Int32(truncatingIfNeeded: size)
            scratch.characterLabels.count = count
            scratch.characterStarts.count = count + 1

            scratch.lattice.count = 0
            scratch.lattice.reserve(extra: count + 1)
            let nodes = scratch.lattice.base
            for index in 0...count { nodes[index] = LatticeNode(score: 0, start: -1, id: -1) }

            latticeScores.withUnsafeBufferPointer { scores in
                let scores = scores.baseAddress!
                for first in 0..<count {
                    let scoreTillHere = nodes[first].score
                    var hasSingleNode = false
                    var node = 0
                    var next = first
                    while next < count {
                        node = trie.trie.child(node, Int(labels[next]))
                        if node < 0 { break }
                        next += 1
                        let id = trie.trie.value(node)
                        if id < 0 { continue }
                        let candidate = scores[Int(id)] + Double(scoreTillHere)
                        if nodes[next].start == -1 || candidate > Double(nodes[next].score) {
                            nodes[next] = LatticeNode(score: Float(candidate), start: Int32(truncatingIfNeeded: first), id: id)
                        }
                        if next == first + 1 { hasSingleNode = true }
                    }
                    if !hasSingleNode {
                        let candidate = unknownScore + scoreTillHere
                        if nodes[first + 1].start == -1 || candidate > nodes[first + 1].score {
                            nodes[first + 1] = LatticeNode(score: candidate, start: Int32(truncatingIfNeeded: first), id: unknownID)
                        }
                    }
                }
            }

            // The path has at most one segment per character: count them back from the end, then
            // write them in order.
            var pieces = 0
            var end = count
            while end > 0 {
                pieces += 1
                end = Int(nodes[end].start)
            }
            scratch.segments.count = 0
            scratch.segments.reserve(extra: pieces)
            let segments = scratch.segments.base
            end = count
            var index = pieces
            while end > 0 {
                let node = nodes[end]
                index -= 1
                segments[index] = Segment(start: Int(starts[Int(node.start)]), end: Int(starts[end]), id: Int(node.id))
                end = Int(node.start)
            }
            scratch.segments.count = pieces
        }
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

/// One idle scratch per thread, for the one-text calls, so that encoding text after text does
/// not allocate buffers each time and threads never wait for one another. A call takes the
/// thread's scratch (or makes one, when a call on the same thread already holds it) and gives it
/// back; a thread's scratch is freed when the thread ends.
private enum ThreadScratch {
    /// A scratch grown past this many bytes is not kept.
    private static let maxFootprint = 1 << 20

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in ThreadScratch.release(pointer) }
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()

    private static func release(_ pointer: UnsafeMutableRawPointer?) {
        if let pointer { Unmanaged<SentencePieceModel.Scratch>.fromOpaque(pointer).release() }
    }

    static func take() -> SentencePieceModel.Scratch {
        guard let pointer = pthread_getspecific(key) else { return SentencePieceModel.Scratch() }
        pthread_setspecific(key, nil)
        return Unmanaged<SentencePieceModel.Scratch>.fromOpaque(pointer).takeRetainedValue()
    }

    static func give(_ scratch: SentencePieceModel.Scratch) {
        guard scratch.footprint <= maxFootprint, pthread_getspecific(key) == nil else { return }
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
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

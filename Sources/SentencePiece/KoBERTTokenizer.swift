import Foundation

/// How text becomes KoBERT token ids; each case reproduces a Python original exactly.
public enum TokenPipeline: String, Sendable, CaseIterable {
    /// The seed workflow's: gluonnlp 0.10 `BERTSPTokenizer(lower=False)` +
    /// `BERTSentenceTransform(pad=True, pair=False)`. BERT's basic tokenizer runs first (control
    /// characters dropped, whitespace normalized, NFD without nonspacing marks, punctuation split
    /// off) and SentencePiece then encodes each resulting token on its own.
    case gluonnlp
    /// SKT's `KoBERTTokenizer` (Hugging Face): the special tokens `[CLS]` `[SEP]` `[UNK]` `[PAD]`
    /// `[MASK]` written in the text are kept whole; each stretch between them gets XLNet
    /// preprocessing (whitespace collapsed, NFKD without combining marks) and SentencePiece, with
    /// pieces ending in digit+comma re-split; then `[CLS] X [SEP]`, right padding, segment ids 0.
    case kobertHF = "kobert-hf"
}

/// One sentence ready for BERT: ids padded to the maximum length.
public struct EncodedSentence: Sendable, Equatable {
    /// `[CLS]`, the sentence's pieces (truncated), `[SEP]`, then `[PAD]` up to the maximum length.
    public var tokenIds: [Int32]
    /// The number of ids before padding.
    public var validLength: Int
    /// Segment (token type) ids: all 0 for a single sentence.
    public var segmentIds: [Int32]
}

/// An error building a tokenizer.
public enum KoBERTTokenizerError: Error, CustomStringConvertible, Equatable {
    /// The model lacks a special piece that the pipeline needs.
    case missingSpecialPiece(String)

    public var description: String {
        switch self {
        case let .missingSpecialPiece(piece): return "the SentencePiece model has no \(piece) piece"
        }
    }
}

/// KoBERT's tokenizer: a SentencePiece model plus one of the two token pipelines.
public struct KoBERTTokenizer: Sendable {
    /// The SentencePiece model whose piece order gives the ids.
    public let model: SentencePieceModel
    /// The pipeline in use.
    public let pipeline: TokenPipeline
    /// Ids of `[CLS]`, `[SEP]` and `[PAD]` in the model.
    public let clsID: Int, sepID: Int, padID: Int
    /// Whether the gluonnlp fast path may leave Hangul syllables undecomposed (see
    /// `Normalizer.hangulSyllablesNormalizeLikeJamo`).
    private let keepsHangulSyllables: Bool

    /// A tokenizer over `model`; throws if the model lacks `[CLS]`, `[SEP]` or `[PAD]`.
    public init(model: SentencePieceModel, pipeline: TokenPipeline = .gluonnlp) throws {
        func special(_ piece: String) throws -> Int {
            guard let id = model.id(of: piece) else { throw KoBERTTokenizerError.missingSpecialPiece(piece) }
            return id
        }
        self.model = model
        self.pipeline = pipeline
        clsID = try special("[CLS]")
        sepID = try special("[SEP]")
        padID = try special("[PAD]")
        keepsHangulSyllables = pipeline == .gluonnlp && model.hangulSyllablesNormalizeLikeJamo()
    }

    /// The pieces and ids of `text`, with `[CLS]` first and `[SEP]` last, not truncated or padded.
    public func tokenize(_ text: String) -> [(piece: String, id: Int)] {
        var result = [(piece: String, id: Int)]()
        result.append(("[CLS]", clsID))
        forEachPiece(text) { piece, id in result.append((piece(), id)) }
        result.append(("[SEP]", sepID))
        return result
    }

    /// What the model sees of `text`: `[CLS]`, at most `maxLength - 2` pieces, `[SEP]` (exactly the
    /// ids `encode(_:maxLength:)` puts before padding), and whether pieces were cut off.
    public func tokenize(_ text: String, maxLength: Int) -> (tokens: [(piece: String, id: Int)], truncated: Bool, pieceCount: Int) {
        let all = tokenize(text)
        let keep = max(maxLength, 2) - 2, pieces = all.count - 2
        guard pieces > keep else { return (all, false, pieces) }
        return (Array(all.prefix(1 + keep)) + [all[all.count - 1]], true, pieces)
    }

    /// One line showing what `text` became: each piece and its id as `piece:id`, separated by
    /// spaces, with `[CLS]` and `[SEP]`. Whitespace inside a piece (possible only in an unknown
    /// piece) is shown escaped, so the line never breaks.
    public func describe(_ text: String) -> String {
        tokenize(text).map { token in
            let piece = token.piece.unicodeScalars.map { scalar in
                TextPreprocessing.isPythonWhitespace(scalar) ? scalar.escaped(asASCII: true) : String(scalar)
            }.joined()
            return "\(piece):\(token.id)"
        }.joined(separator: " ")
    }

    /// `text` as BERT input: `[CLS]`, its first `maxLength - 2` pieces, `[SEP]`, then `[PAD]` up to
    /// `maxLength` (values below 2 are treated as 2).
    public func encode(_ text: String, maxLength: Int = 64) -> EncodedSentence {
        model.withScratch { encode(text, maxLength: maxLength, scratch: $0) }
    }

    /// `encode(_:maxLength:)` with the given scratch buffers. `zeros`, when it holds
    /// `max(maxLength, 2)` zeros, is shared as the segment ids instead of a new array.
    func encode(_ text: String, maxLength: Int, scratch: SentencePieceModel.Scratch,
                zeros: [Int32] = []) -> EncodedSentence {
        let maxLength = max(maxLength, 2)
        var validLength = 0
        let ids = [Int32](unsafeUninitializedCapacity: maxLength) { ids, initialized in
            ids[0] = Int32(clsID)
            var count = 1
            forEachPiece(text, scratch: scratch) { _, id in
                if count < maxLength - 1 {
                    ids[count] = Int32(id)
                    count += 1
                }
            }
            ids[count] = Int32(sepID)
            count += 1
            validLength = count
            for index in count..<maxLength { ids[index] = Int32(padID) }
            initialized = maxLength
        }
        let segmentIds = zeros.count == maxLength ? zeros : [Int32](repeating: 0, count: maxLength)
        return EncodedSentence(tokenIds: ids, validLength: validLength, segmentIds: segmentIds)
    }

    /// Calls `body` for each piece of `text` in order, with a closure giving the piece's text
    /// (built only when asked for) and its id.
    private func forEachPiece(_ text: String, _ body: (_ piece: () -> String, _ id: Int) -> Void) {
        model.withScratch { forEachPiece(text, scratch: $0, body) }
    }

    private func forEachPiece(_ text: String, scratch: SentencePieceModel.Scratch,
                              _ body: (_ piece: () -> String, _ id: Int) -> Void) {
        switch pipeline {
        case .gluonnlp:
            let isFast = SentencePieceModel.withUTF8(text) {
                TextPreprocessing.gluonBasicTokensFast($0, keepSyllables: keepsHangulSyllables,
                                                       into: scratch.text, ends: scratch.tokenEnds)
            }
            if isFast {
                var tokenStart = 0
                for index in 0..<scratch.tokenEnds.count {
                    let tokenEnd = scratch.tokenEnds.base[index]
                    let token = UnsafeBufferPointer(start: scratch.text.base + tokenStart, count: tokenEnd - tokenStart)
                    for segment in model.encode(utf8: token, scratch: scratch) {
                        body({ scratch.pieceText(segment) }, segment.id)
                    }
                    tokenStart = tokenEnd
                }
                return
            }
            var utf8 = [UInt8]()
            for token in TextPreprocessing.gluonBasicTokens(text) {
                utf8.removeAll(keepingCapacity: true)
                for scalar in token { UTF8.encode(scalar) { utf8.append($0) } }
                let segments = utf8.withUnsafeBufferPointer { model.encode(utf8: $0, scratch: scratch) }
                for segment in segments { body({ scratch.pieceText(segment) }, segment.id) }
            }
        case .kobertHF:
            for chunk in splitOnSpecialTokens(text) {
                if let special = chunk.special {
                    body({ special.piece }, special.id)
                    continue
                }
                let preprocessed = TextPreprocessing.xlnetPreprocess(chunk.text)
                let segments = SentencePieceModel.withUTF8(preprocessed) { model.encode(utf8: $0, scratch: scratch) }
                for segment in segments {
                    if let split = digitCommaSplit(scratch.pieceText(segment)) {
                        for piece in split { body({ piece }, model.id(of: piece) ?? model.unknownID) }
                    } else {
                        body({ scratch.pieceText(segment) }, segment.id)
                    }
                }
            }
        }
    }

    /// The special tokens that Hugging Face's tokenizer keeps whole when they appear in the text.
    private static let specialTokens = ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"]

    /// `text` cut into plain stretches and special tokens, left to right, matching code points.
    private func splitOnSpecialTokens(_ text: String) -> [(text: String, special: (piece: String, id: Int)?)] {
        var chunks = [(text: String, special: (piece: String, id: Int)?)]()
        let scalars = text.unicodeScalars
        var plainStart = scalars.startIndex
        var position = scalars.startIndex
        while position < scalars.endIndex {
            let tail = scalars[position...]
            if scalars[position] == "[",
               let token = Self.specialTokens.first(where: { tail.starts(with: $0.unicodeScalars) }),
               let id = model.id(of: token) {
                chunks.append((String(scalars[plainStart..<position]), nil))
                chunks.append((token, (token, id)))
                position = scalars.index(position, offsetBy: token.unicodeScalars.count)
                plainStart = position
            } else {
                position = scalars.index(after: position)
            }
        }
        chunks.append((String(scalars[plainStart...]), nil))
        return chunks
    }

    /// XLNetTokenizer's re-split of a piece that ends in a digit and a comma (such as `▁1,`): the
    /// piece without its comma and `▁` marks is encoded again, a leading `▁` the original piece
    /// did not have is removed, and the comma follows as its own piece. Nil for other pieces.
    private func digitCommaSplit(_ piece: String) -> [String]? {
        let scalars = Array(piece.unicodeScalars)
        guard scalars.count > 1, scalars[scalars.count - 1] == ",",
              TextPreprocessing.isPythonDigit(scalars[scalars.count - 2]) else { return nil }
        let space: Unicode.Scalar = "\u{2581}"
        let body = String(String.UnicodeScalarView(scalars.dropLast().filter { $0 != space }))
        var pieces = model.encodeAsPieces(body)
        if scalars[0] != space, let first = pieces.first, first.unicodeScalars.first == space {
            if first.unicodeScalars.count == 1 {
                pieces.removeFirst()
            } else {
                pieces[0] = String(String.UnicodeScalarView(first.unicodeScalars.dropFirst()))
            }
        }
        pieces.append(",")
        return pieces
    }
}

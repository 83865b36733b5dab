import Foundation

/// The parts of sentencepiece's `ModelProto` (sentencepiece_model.proto) that encoding needs.
/// Unknown fields are skipped, as protobuf readers do; proto2 defaults apply to absent fields.
///
/// The reader never recurses on input: the nesting is fixed by the schema (ModelProto and its
/// direct sub-messages, two levels), unknown length-delimited fields are skipped without being
/// parsed, and groups, the only self-nesting wire construct, are refused.
struct ModelProto {
    /// `ModelProto.SentencePiece.Type`.
    enum PieceType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    struct Piece {
        var piece = ""
        var score: Float = 0
        var type = PieceType.normal
    }

    /// `TrainerSpec.ModelType`.
    enum ModelType: Int {
        case unigram = 1, bpe = 2, word = 3, char = 4
    }

    struct TrainerSpec {
        var modelType = ModelType.unigram
        var treatWhitespaceAsSuffix = false
        var byteFallback = false
    }

    struct NormalizerSpec {
        var name = ""
        var precompiledCharsmap = [UInt8]()
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var escapeWhitespaces = true
    }

    var pieces = [Piece]()
    var trainerSpec = TrainerSpec()
    var normalizerSpec = NormalizerSpec()
    /// Read so that a malformed one is reported; encoding never denormalizes.
    var denormalizerSpec: NormalizerSpec?

    init(bytes: [UInt8]) throws {
        var reader = WireReader(bytes: bytes[...], context: "ModelProto")
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                pieces.append(try Self.decodePiece(reader.subReader("pieces[\(pieces.count)]")))
            case (2, .lengthDelimited):
                trainerSpec = try Self.decodeTrainerSpec(reader.subReader("trainer_spec"))
            case (3, .lengthDelimited):
                normalizerSpec = try Self.decodeNormalizerSpec(reader.subReader("normalizer_spec"))
            case (5, .lengthDelimited):
                denormalizerSpec = try Self.decodeNormalizerSpec(reader.subReader("denormalizer_spec"))
            default:
                try reader.skip(wire, field: field)
            }
        }
    }

    private static func decodePiece(_ r: WireReader) throws -> Piece {
        var r = r
        var piece = Piece()
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): piece.piece = try r.string()
            case (2, .fixed32): piece.score = Float(bitPattern: try r.fixed32())
            case (3, .varint):
                let raw = try r.varint()
                guard let type = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw r.error("unknown piece type \(raw)")
                }
                piece.type = type
            default: try r.skip(wire, field: field)
            }
        }
        return piece
    }

    private static func decodeTrainerSpec(_ r: WireReader) throws -> TrainerSpec {
        var r = r
        var spec = TrainerSpec()
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (3, .varint):
                let raw = try r.varint()
                guard let type = ModelType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw r.error("unknown model_type \(raw)")
                }
                spec.modelType = type
            case (24, .varint): spec.treatWhitespaceAsSuffix = try r.varint() != 0
            case (35, .varint): spec.byteFallback = try r.varint() != 0
            default: try r.skip(wire, field: field)
            }
        }
        return spec
    }

    private static func decodeNormalizerSpec(_ r: WireReader) throws -> NormalizerSpec {
        var r = r
        var spec = NormalizerSpec()
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): spec.name = try r.string()
            case (2, .lengthDelimited): spec.precompiledCharsmap = Array(try r.lengthDelimited())
            case (3, .varint): spec.addDummyPrefix = try r.varint() != 0
            case (4, .varint): spec.removeExtraWhitespaces = try r.varint() != 0
            case (5, .varint): spec.escapeWhitespaces = try r.varint() != 0
            default: try r.skip(wire, field: field)
            }
        }
        return spec
    }
}

/// A minimal protobuf wire-format reader over a byte slice, with errors that name the message.
struct WireReader {
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    private let data: ArraySlice<UInt8>
    private var position: Int
    private let context: String

    init(bytes: ArraySlice<UInt8>, context: String) {
        self.data = bytes
        self.position = bytes.startIndex
        self.context = context
    }

    func error(_ reason: String) -> SentencePieceError {
        .malformed(field: context, offset: position, reason: reason)
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (Int, WireType)? {
        guard position < data.endIndex else { return nil }
        let key = try varint()
        guard let wire = WireType(rawValue: key & 7) else { throw error("invalid wire type \(key & 7)") }
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw error("invalid field number \(field)") }
        return (Int(field), wire)
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < data.endIndex else { throw error("truncated varint") }
            let byte = data[position]
            position += 1
            guard shift < 64 else { throw error("varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard data.endIndex - position >= 4 else { throw error("truncated fixed32") }
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(data[position + k]) << (8 * UInt32(k)) }
        position += 4
        return value
    }

    /// The payload of a length-delimited field.
    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(data.endIndex - position) else {
            throw error("length \(length) runs past the end of the data")
        }
        let slice = data[position..<(position + Int(length))]
        position += Int(length)
        return slice
    }

    mutating func string() throws -> String {
        let raw = try lengthDelimited()
        guard let text = String(bytes: raw, encoding: .utf8) else { throw error("string is not valid UTF-8") }
        return text
    }

    /// A reader over the next length-delimited field, for an embedded message named `name`.
    mutating func subReader(_ name: String) throws -> WireReader {
        WireReader(bytes: try lengthDelimited(), context: "\(context).\(name)")
    }

    mutating func skip(_ wire: WireType, field: Int) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64:
            guard data.endIndex - position >= 8 else { throw error("truncated fixed64 in field \(field)") }
            position += 8
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw error("groups are not supported (field \(field))")
        }
    }
}

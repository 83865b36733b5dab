/// A normalization rule set compiled by sentencepiece's trainer into `precompiled_charsmap`.
///
/// Layout (little-endian): a 4-byte size `n` of the trie, `n` bytes of a darts-clone double-array
/// trie (32-bit units) whose keys are UTF-8 source strings, then a blob of NUL-terminated
/// replacement strings; a key's value is the offset of its replacement in the blob.
struct PrecompiledCharsmap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]

    init(_ blob: [UInt8]) throws {
        guard blob.count > 4 else {
            throw SentencePieceError.invalidModel("normalizer_spec.precompiled_charsmap is too short (\(blob.count) bytes)")
        }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize < blob.count - 4, trieSize % 4 == 0, trieSize > 0 else {
            throw SentencePieceError.invalidModel(
                "normalizer_spec.precompiled_charsmap: trie size \(trieSize) does not fit its \(blob.count)-byte blob")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for k in 0..<units.count {
            let b = 4 + 4 * k
            units[k] = UInt32(blob[b]) | UInt32(blob[b + 1]) << 8 | UInt32(blob[b + 2]) << 16 | UInt32(blob[b + 3]) << 24
        }
        self.units = units
        self.replacements = Array(blob[(4 + trieSize)...])
    }

    /// The longest rule matching a prefix of `input[start...]`: its source length in bytes and the
    /// range of its replacement in `replacements`, or nil when no rule matches.
    /// A darts-clone common-prefix search, bounds-checked so that a corrupt trie cannot crash.
    @inline(__always)
    func longestMatch(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> (length: Int, replacement: Range<Int>)? {
        var nodePosition = Int(Self.offset(units[0]))
        var best: (length: Int, value: Int)?
        var position = start
        while position < input.count {
            let byte = input[position]
            nodePosition ^= Int(byte)
            guard nodePosition < units.count else { break }
            let unit = units[nodePosition]
            // label(): the low byte plus the leaf flag in bit 31.
            guard unit & 0x8000_00FF == UInt32(byte) else { break }
            nodePosition ^= Int(Self.offset(unit))
            position += 1
            if (unit >> 8) & 1 == 1 {
                guard nodePosition < units.count else { break }
                best = (position - start, Int(units[nodePosition] & 0x7FFF_FFFF))
            }
        }
        guard let best, best.value < replacements.count else { return nil }
        var end = best.value
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        return (best.length, best.value..<end)
    }

    /// The replacement bytes at `range` (from `longestMatch`).
    @inline(__always)
    func replacement(_ range: Range<Int>) -> ArraySlice<UInt8> { replacements[range] }

    @inline(__always)
    private static func offset(_ unit: UInt32) -> UInt32 {
        (unit >> 10) << ((unit & (1 << 9)) >> 6)
    }
}

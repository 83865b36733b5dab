/// SentencePiece's normalizer (normalizer.cc): rule-based rewriting from the model's precompiled
/// charsmap (longest match first), user-defined symbols kept verbatim, whitespace cleanup and the
/// `▁` (U+2581) escape, all on UTF-8 bytes.
struct Normalizer: Sendable {
    static let spaceSymbol: [UInt8] = [0xE2, 0x96, 0x81]  // "▁"

    private let charsmap: PrecompiledCharsmap?
    /// User-defined symbols, which are matched before any rule and never rewritten.
    private let userDefined: ByteTrie?
    private let addDummyPrefix: Bool
    private let removeExtraWhitespaces: Bool
    private let escapeWhitespaces: Bool
    private let treatWhitespaceAsSuffix: Bool

    init(spec: ModelProto.NormalizerSpec, treatWhitespaceAsSuffix: Bool, userDefined: ByteTrie?) throws {
        charsmap = spec.precompiledCharsmap.isEmpty ? nil : try PrecompiledCharsmap(spec.precompiledCharsmap)
        self.userDefined = userDefined
        addDummyPrefix = spec.addDummyPrefix
        removeExtraWhitespaces = spec.removeExtraWhitespaces
        escapeWhitespaces = spec.escapeWhitespaces
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
    }

    /// The length of the longest user-defined symbol at `input[start...]`, or 0.
    func userDefinedPrefixLength(_ input: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        userDefined?.longestPrefix(input, from: start) ?? 0
    }

    /// Where the normalized form of one prefix comes from.
    private enum Prefix {
        case input(Range<Int>)
        case rule(ArraySlice<UInt8>)
        case replacementCharacter
    }

    /// Normalizes the prefix of `input[start...]`; returns the source and bytes consumed.
    @inline(__always)
    private func normalizePrefix(_ input: UnsafeBufferPointer<UInt8>, _ start: Int) -> (Prefix, Int) {
        let userDefinedLength = userDefinedPrefixLength(input, start)
        if userDefinedLength > 0 { return (.input(start..<(start + userDefinedLength)), userDefinedLength) }
        if let charsmap, let match = charsmap.longestMatch(input, from: start) {
            return (.rule(charsmap.replacement(match.replacement)), match.length)
        }
        let length = Self.utf8Length(input, start)
        return length == 0 ? (.replacementCharacter, 1) : (.input(start..<(start + length)), length)
    }

    /// Visits the bytes of a normalized prefix.
    @inline(__always)
    private func withBytes<R>(_ prefix: Prefix, _ input: UnsafeBufferPointer<UInt8>,
                              _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch prefix {
        case let .input(range):
            return body(UnsafeBufferPointer(rebasing: input[range]))
        case let .rule(replacement):
            return replacement.withUnsafeBufferPointer(body)
        case .replacementCharacter:
            return [0xEF, 0xBF, 0xBD].withUnsafeBufferPointer(body)
        }
    }

    /// Appends the normalized form of `input` to `output` (which is emptied first).
    func normalize(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        var position = 0
        if removeExtraWhitespaces {
            while position < input.count {
                let (prefix, consumed) = normalizePrefix(input, position)
                let isSpace = withBytes(prefix, input) { $0.count == 1 && $0[0] == 0x20 }
                if !isSpace { break }
                position += consumed
            }
        }
        guard position < input.count else { return }
        output.reserveCapacity(input.count * 3)
        let space: [UInt8] = escapeWhitespaces ? Self.spaceSymbol : [0x20]
        if !treatWhitespaceAsSuffix && addDummyPrefix { output.append(contentsOf: space) }

        var isPreviousSpace = removeExtraWhitespaces
        while position < input.count {
            let (prefix, consumed) = normalizePrefix(input, position)
            withBytes(prefix, input) { bytes in
                var first = 0
                while isPreviousSpace && first < bytes.count && bytes[first] == 0x20 { first += 1 }
                guard first < bytes.count else { return }
                for k in first..<bytes.count {
                    if escapeWhitespaces && bytes[k] == 0x20 {
                        output.append(contentsOf: Self.spaceSymbol)
                    } else {
                        output.append(bytes[k])
                    }
                }
                isPreviousSpace = bytes[bytes.count - 1] == 0x20
            }
            position += consumed
            if !removeExtraWhitespaces { isPreviousSpace = false }
        }
        if removeExtraWhitespaces {
            while output.count >= space.count && output.suffix(space.count).elementsEqual(space) {
                output.removeLast(space.count)
            }
        }
        if treatWhitespaceAsSuffix && addDummyPrefix { output.append(contentsOf: space) }
    }

    /// The byte length of the well-formed UTF-8 character at `input[start]`, or 0 if malformed.
    @inline(__always)
    static func utf8Length(_ input: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        let lead = input[start]
        let length: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard start + length <= input.count else { return 0 }
        for k in 1..<length where input[start + k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    /// The byte length of the UTF-8 character whose lead byte is `lead` (1 for stray bytes), as
    /// sentencepiece's `OneCharLen` counts it.
    @inline(__always)
    static func oneCharLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}

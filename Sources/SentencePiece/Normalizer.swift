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

    /// Whether, in text made of ASCII and Hangul syllables, the normalizer writes the same bytes
    /// whether the syllables are written as they are or as their NFD jamo (L V, or L V T). It does
    /// when:
    /// - no rule starting at an ASCII character, and running on through ASCII, can end inside or
    ///   after a syllable (or its jamo group) that follows;
    /// - for each syllable, the rule applied first (or none) takes the whole syllable, resp. its
    ///   whole jamo group, the two give the same bytes, and no rule can lengthen either into
    ///   what follows (ASCII, a leading jamo or a syllable first).
    /// The normalizer then steps through both texts in lockstep and writes the same bytes.
    /// (Compatibility jamo are left out: nmt_nfkc composes, say, 가 written as jamo with a
    /// following ㄳ into 갃, but not 가 written as it is.)
    func hangulSyllablesNormalizeLikeJamo() -> Bool {
        guard userDefined == nil, let charsmap else { return false }
        let same = [0x00...0x7F]
        let others = [0x1100...0x1112, 0xAC00...0xD7A3]
        let rest = [0x1161...0x1175, 0x11A8...0x11C2]
        func utf8(_ codePoint: Int) -> [UInt8] { Array(String(Unicode.Scalar(UInt32(codePoint))!).utf8) }
        for codePoint in 0..<0x80
        where charsmap.canRunOn(utf8(codePoint), same: same, others: others, rest: rest, entersOthers: false) {
            return false
        }
        /// The bytes the first rule gives for `bytes`, if it takes them all and nothing can follow.
        func rewritten(_ bytes: [UInt8], isCharacter: Bool) -> [UInt8]? {
            guard !charsmap.canRunOn(bytes, same: same, others: others, rest: rest, entersOthers: true) else { return nil }
            guard let rule = charsmap.isolatedRule(bytes) else { return isCharacter ? bytes : nil }
            return rule.consumed == bytes.count ? rule.replacement : nil
        }
        for index in 0..<11_172 {
            var jamo = utf8(0x1100 + index / 588) + utf8(0x1161 + (index % 588) / 28)
            if index % 28 != 0 { jamo += utf8(0x11A7 + index % 28) }
            guard let fromJamo = rewritten(jamo, isCharacter: false),
                  let fromSyllable = rewritten(utf8(0xAC00 + index), isCharacter: true),
                  fromJamo == fromSyllable else { return false }
        }
        return true
    }

    /// The length of the longest user-defined symbol at `input[start...]`, or 0.
    func userDefinedPrefixLength(_ input: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        userDefined?.longestPrefix(input, from: start) ?? 0
    }

    /// U+FFFD, written for a malformed byte.
    private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The normalized form of `input[start...]`'s first prefix: its bytes and the bytes consumed.
    @inline(__always)
    private static func normalizePrefix(
        _ input: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
        charsmap: PrecompiledCharsmap.View?, userDefined: ByteTrie.View?, replacementCharacter: UnsafePointer<UInt8>
    ) -> (bytes: UnsafePointer<UInt8>, count: Int, consumed: Int) {
        if let userDefined {
            let length = userDefined.longestPrefix(input, from: start, to: end)
            if length > 0 { return (input + start, length, length) }
        }
        if let charsmap {
            // One table load for a well-formed BMP character, unless a rule may run on past it.
            let lead = input[start]
            var codePoint = -1
            var length = 0
            if lead < 0x80 {
                codePoint = Int(lead)
                length = 1
            } else if lead >= 0xC2 && lead <= 0xDF {
                if start + 1 < end && input[start + 1] & 0xC0 == 0x80 {
                    codePoint = Int(lead & 0x1F) << 6 | Int(input[start + 1] & 0x3F)
                    length = 2
                }
            } else if lead >= 0xE0 && lead <= 0xEF {
                if start + 2 < end && input[start + 1] & 0xC0 == 0x80 && input[start + 2] & 0xC0 == 0x80 {
                    let value = Int(lead & 0x0F) << 12 | Int(input[start + 1] & 0x3F) << 6 | Int(input[start + 2] & 0x3F)
                    if value >= 0x800 {  // not overlong
                        codePoint = value
                        length = 3
                    }
                }
            }
            if codePoint >= 0 {
                let entry = charsmap.characterTable[codePoint]
                if entry == PrecompiledCharsmap.noRule { return (input + start, length, length) }
                if entry != PrecompiledCharsmap.needsWalk {
                    return (charsmap.replacements.baseAddress! + Int(entry >> 8), Int(entry & 0xFF), length)
                }
            }
            if let match = charsmap.longestMatch(input, from: start, to: end) {
                return (charsmap.replacements.baseAddress! + match.replacement.lowerBound, match.replacement.count, match.length)
            }
        }
        let length = utf8Length(input, start, end)
        return length == 0 ? (replacementCharacter, 3, 1) : (input + start, length, length)
    }

    /// Calls `body` with views of the charsmap and the user-defined trie, when present.
    @inline(__always)
    private func withViews<R>(_ body: (PrecompiledCharsmap.View?, ByteTrie.View?) -> R) -> R {
        func withUser(_ charsmap: PrecompiledCharsmap.View?) -> R {
            if let userDefined { return userDefined.withView { body(charsmap, $0) } }
            return body(charsmap, nil)
        }
        if let charsmap { return charsmap.withView { withUser($0) } }
        return withUser(nil)
    }

    /// Writes the normalized form of `input` to `output` (which is emptied first).
    func normalize(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        let buffer = GrowableBuffer<UInt8>(capacity: input.count * 3 + 8)
        normalize(input, into: buffer)
        output = Array(buffer.buffer)
    }

    /// Writes the normalized form of `input` to `output` (which is emptied first).
    func normalize(_ input: UnsafeBufferPointer<UInt8>, into output: GrowableBuffer<UInt8>) {
        output.count = 0
        guard let text = input.baseAddress, input.count > 0 else { return }
        let end = input.count
        let removeExtraWhitespaces = removeExtraWhitespaces, escapeWhitespaces = escapeWhitespaces
        withViews { charsmap, userDefined in
        Self.replacementCharacter.withUnsafeBufferPointer { replacementCharacter in
            let replacementCharacter = replacementCharacter.baseAddress!
            var position = 0
            if removeExtraWhitespaces {
                while position < end {
                    let prefix = Self.normalizePrefix(text, position, end, charsmap: charsmap, userDefined: userDefined,
                                                      replacementCharacter: replacementCharacter)
                    if !(prefix.count == 1 && prefix.bytes[0] == 0x20) { break }
                    position += prefix.consumed
                }
            }
            guard position < end else { return }
            output.reserve(extra: end * 3 + 8)
            if !treatWhitespaceAsSuffix && addDummyPrefix { appendSpace(output) }

            var isPreviousSpace = removeExtraWhitespaces
            // The output is written through a local pointer; `ensure` grows it when needed.
            var out = output.base, written = output.count, capacity = output.capacity
            func ensure(_ extra: Int) {
                if written + extra > capacity {
                    output.count = written
                    output.reserve(extra: extra)
                    out = output.base
                    capacity = output.capacity
                }
            }
            while position < end {
                // Fast paths: a character that no rule touches, copied as it is; this is
                // `normalizePrefix`'s table case, unrolled for ASCII and three-byte characters
                // (which hold no space byte).
                if userDefined == nil, let charsmap {
                    let lead = text[position]
                    if lead < 0x80 && charsmap.characterTable[Int(lead)] == PrecompiledCharsmap.noRule {
                        if !(isPreviousSpace && lead == 0x20) {
                            ensure(3)
                            if escapeWhitespaces && lead == 0x20 {
                                out[written] = 0xE2
                                out[written + 1] = 0x96
                                out[written + 2] = 0x81
                                written += 3
                            } else {
                                out[written] = lead
                                written += 1
                            }
                            isPreviousSpace = lead == 0x20
                        }
                        position += 1
                        if !removeExtraWhitespaces { isPreviousSpace = false }
                        continue
                    }
                    if lead >= 0xE0 && lead <= 0xEF && position + 2 < end {
                        let second = text[position + 1], third = text[position + 2]
                        if second & 0xC0 == 0x80 && third & 0xC0 == 0x80 {
                            let codePoint = Int(lead & 0x0F) << 12 | Int(second & 0x3F) << 6 | Int(third & 0x3F)
                            if codePoint >= 0x800 && charsmap.characterTable[codePoint] == PrecompiledCharsmap.noRule {
                                ensure(3)
                                out[written] = lead
                                out[written + 1] = second
                                out[written + 2] = third
                                written += 3
                                isPreviousSpace = false
                                position += 3
                                continue
                            }
                        }
                    }
                }
                let prefix = Self.normalizePrefix(text, position, end, charsmap: charsmap, userDefined: userDefined,
                                                  replacementCharacter: replacementCharacter)
                let bytes = prefix.bytes, count = prefix.count
                var first = 0
                while isPreviousSpace && first < count && bytes[first] == 0x20 { first += 1 }
                if first < count {
                    ensure(3 * (count - first))
                    for k in first..<count {
                        let byte = bytes[k]
                        if escapeWhitespaces && byte == 0x20 {
                            out[written] = 0xE2
                            out[written + 1] = 0x96
                            out[written + 2] = 0x81
                            written += 3
                        } else {
                            out[written] = byte
                            written += 1
                        }
                    }
                    isPreviousSpace = bytes[count - 1] == 0x20
                }
                position += prefix.consumed
                if !removeExtraWhitespaces { isPreviousSpace = false }
            }
            output.count = written
            if removeExtraWhitespaces {
                if escapeWhitespaces {
                    while output.count >= 3 && output.base[output.count - 3] == 0xE2 && output.base[output.count - 2] == 0x96
                            && output.base[output.count - 1] == 0x81 {
                        output.count -= 3
                    }
                } else {
                    while output.count >= 1 && output.base[output.count - 1] == 0x20 { output.count -= 1 }
                }
            }
            if treatWhitespaceAsSuffix && addDummyPrefix { appendSpace(output) }
        }
        }
    }

    /// Appends the whitespace mark (`▁`, or a space when whitespace is not escaped).
    @inline(__always)
    private func appendSpace(_ output: GrowableBuffer<UInt8>) {
        output.reserve(extra: 3)
        if escapeWhitespaces {
            output.appendUnchecked(0xE2)
            output.appendUnchecked(0x96)
            output.appendUnchecked(0x81)
        } else {
            output.appendUnchecked(0x20)
        }
    }

    /// The byte length of the well-formed UTF-8 character at `input[start]` (of `input[..<end]`),
    /// or 0 if malformed.
    @inline(__always)
    static func utf8Length(_ input: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        let lead = input[start]
        let length: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard start + length <= end else { return 0 }
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

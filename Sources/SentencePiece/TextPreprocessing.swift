import Foundation

/// The text clean-up that each token pipeline applies before SentencePiece, reproducing the
/// Python originals scalar by scalar.
package enum TextPreprocessing {
    /// Python's `str.isspace()`, which `str.split()` and `str.strip()` use.
    package static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `str.split()` without arguments: runs of whitespace separate, none are kept.
    static func splitOnWhitespace(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        scalars.split(whereSeparator: isPythonWhitespace)
    }

    /// Python's `str.strip()` without arguments.
    static func strip(_ scalars: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar> {
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return [] }
        return scalars[first...last]
    }

    /// gluonnlp 0.10 `BERTBasicTokenizer(lower=False)`: drops NUL, U+FFFD and control/format
    /// characters (except tab, CR, LF); maps whitespace to spaces; surrounds CJK ideographs with
    /// spaces; NFD; drops nonspacing marks (Mn); splits off each punctuation character; splits
    /// on whitespace. Returns the tokens.
    static func gluonBasicTokens(_ text: String) -> [ArraySlice<Unicode.Scalar>] {
        var step1 = String.UnicodeScalarView()
        var previousWhitespace = false
        for scalar in text.unicodeScalars {
            let category = scalar.properties.generalCategory
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar, category) { continue }
            if isBERTWhitespace(scalar, category) {
                step1.append(" ")
                previousWhitespace = true
            } else if isCJKIdeograph(scalar) {
                // As in the original, this leaves `previousWhitespace` unchanged.
                if !previousWhitespace { step1.append(" ") }
                step1.append(scalar)
                step1.append(" ")
            } else {
                step1.append(scalar)
                previousWhitespace = false
            }
        }
        let stripped = String(String.UnicodeScalarView(strip(Array(step1))))
        var step2 = [Unicode.Scalar]()
        for scalar in stripped.decomposedStringWithCanonicalMapping.unicodeScalars {
            let category = scalar.properties.generalCategory
            if category == .nonspacingMark { continue }
            if isPunctuation(scalar, category) {
                step2.append(" ")
                step2.append(scalar)
                step2.append(" ")
            } else {
                step2.append(scalar)
            }
        }
        return splitOnWhitespace(step2)
    }

    /// `gluonBasicTokens` for text made only of ASCII, Hangul syllables (U+AC00...U+D7A3) and
    /// Hangul compatibility jamo (U+3131...U+318E), which is nearly all Korean dialogue; nil for
    /// other text. The tokens are written as UTF-8 to `output`, one after another, with the end
    /// offset of each in `ends`.
    ///
    /// On that alphabet every step of the general path is a table lookup: the dropped controls,
    /// the whitespace and the punctuation are all ASCII; none of these characters is a CJK
    /// ideograph or a nonspacing mark; NFD leaves ASCII and compatibility jamo alone and splits a
    /// syllable into its conjoining jamo by the Unicode algorithm (L V, or L V T); and `strip`
    /// then `split` simply separate tokens at spaces.
    ///
    /// With `keepSyllables`, in text without compatibility jamo, syllables are written as they
    /// are instead of as jamo: the tokens are then not NFD, but the model's normalizer turns them
    /// into the same bytes (see `Normalizer.hangulSyllablesNormalizeLikeJamo`).
    static func gluonBasicTokensFast(_ utf8: UnsafeBufferPointer<UInt8>, keepSyllables: Bool,
                                     into output: GrowableBuffer<UInt8>, ends: GrowableBuffer<Int>) -> Bool {
        var keepSyllables = keepSyllables
        while true {
            switch gluonBasicTokensFast(utf8, keepSyllables: &keepSyllables, into: output, ends: ends) {
            case .done: return true
            case .notApplicable: return false
            case .retry: continue
            }
        }
    }

    private enum FastTokensResult { case done, notApplicable, retry }

    private static func gluonBasicTokensFast(_ utf8: UnsafeBufferPointer<UInt8>, keepSyllables: inout Bool,
                                             into output: GrowableBuffer<UInt8>, ends: GrowableBuffer<Int>)
        -> FastTokensResult {
        output.count = 0
        ends.count = 0
        guard let text = utf8.baseAddress else { return .done }
        let count = utf8.count
        // At most three output bytes per input byte (a syllable's three become up to nine), and
        // at most one token per input byte.
        output.reserve(extra: count * 3)
        ends.reserve(extra: count)
        let out = output.base, tokenEnds = ends.base
        var written = 0, tokens = 0, tokenStart = 0
        var position = 0
        while position < count {
            let lead = text[position]
            if lead < 0x80 {
                position += 1
                let bit: UInt64 = 1 << (lead & 63)
                let isLow = lead < 64
                if (isLow ? asciiWhitespace & bit : 0) != 0 {
                    if written > tokenStart {
                        tokenEnds[tokens] = written
                        tokens += 1
                        tokenStart = written
                    }
                } else if (isLow ? asciiControlLow & bit : asciiControlHigh & bit) != 0 {
                    continue
                } else if (isLow ? asciiPunctuationLow & bit : asciiPunctuationHigh & bit) != 0 {
                    if written > tokenStart {
                        tokenEnds[tokens] = written
                        tokens += 1
                    }
                    out[written] = lead
                    written += 1
                    tokenEnds[tokens] = written
                    tokens += 1
                    tokenStart = written
                } else {
                    out[written] = lead
                    written += 1
                }
                continue
            }
            // Swift strings hold well-formed UTF-8: a lead byte from 0xE0 starts three or four bytes.
            guard lead & 0xF0 == 0xE0 else { return .notApplicable }
            let second = text[position + 1], third = text[position + 2]
            let codePoint = Int(lead & 0x0F) << 12 | Int(second & 0x3F) << 6 | Int(third & 0x3F)
            if codePoint >= 0xAC00 && codePoint <= 0xD7A3 && keepSyllables {
                out[written] = lead
                out[written + 1] = second
                out[written + 2] = third
                written += 3
            } else if codePoint >= 0xAC00 && codePoint <= 0xD7A3 {
                // Hangul syllable: L = U+1100 + s / 588, V = U+1161 + (s % 588) / 28, T = U+11A7 + s % 28.
                let syllable = codePoint - 0xAC00
                let trailing = syllable % 28
                writeJamo(0x1100 + syllable / 588, out + written)
                writeJamo(0x1161 + (syllable % 588) / 28, out + written + 3)
                written += 6
                if trailing != 0 {
                    writeJamo(0x11A7 + trailing, out + written)
                    written += 3
                }
            } else if codePoint >= 0x3131 && codePoint <= 0x318E {
                if keepSyllables {
                    keepSyllables = false
                    return .retry
                }
                out[written] = lead
                out[written + 1] = second
                out[written + 2] = third
                written += 3
            } else {
                return .notApplicable
            }
            position += 3
        }
        if written > tokenStart {
            tokenEnds[tokens] = written
            tokens += 1
        }
        output.count = written
        ends.count = tokens
        return .done
    }

    /// Writes a conjoining jamo (U+1100...U+11FF) as UTF-8.
    @inline(__always)
    private static func writeJamo(_ codePoint: Int, _ out: UnsafeMutablePointer<UInt8>) {
        out[0] = 0xE1
        out[1] = UInt8(0x80 | (codePoint >> 6) & 0x3F)
        out[2] = UInt8(0x80 | codePoint & 0x3F)
    }

    /// ASCII bytes by what the basic tokenizer does with them, as bit sets (bit `b` of the low
    /// word for byte `b` < 64, of the high word for byte `64 + b`): whitespace (tab, LF, CR,
    /// space), dropped control characters (the other C0 controls and DEL), and punctuation split
    /// off on its own (33...47, 58...64, 91...96, 123...126). Other bytes are kept.
    private static let asciiWhitespace: UInt64 = 0x1_0000_2600
    private static let asciiControlLow: UInt64 = 0xFFFF_D9FF
    private static let asciiControlHigh: UInt64 = 0x8000_0000_0000_0000
    private static let asciiPunctuationLow: UInt64 = 0xFC00_FFFE_0000_0000
    private static let asciiPunctuationHigh: UInt64 = 0x7800_0001_F800_0001

    /// XLNetTokenizer's `preprocess_text` with remove_space=True, keep_accents=False,
    /// do_lower_case=False: collapse whitespace, ``/'' to ", NFKD, drop combining marks.
    static func xlnetPreprocess(_ text: String) -> String {
        let words = splitOnWhitespace(Array(text.unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
        let quoted = words.joined(separator: " ")
            .replacingOccurrences(of: "``", with: "\"")
            .replacingOccurrences(of: "''", with: "\"")
        var result = String.UnicodeScalarView()
        for scalar in quoted.decomposedStringWithCompatibilityMapping.unicodeScalars
        where scalar.properties.canonicalCombiningClass == .notReordered {
            result.append(scalar)
        }
        return String(result)
    }

    /// Python's `str.isdigit()`: numeric type Decimal or Digit.
    static func isPythonDigit(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.numericType {
        case .decimal?, .digit?: return true
        default: return false
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar, _ category: Unicode.GeneralCategory) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        return category == .control || category == .format
    }

    private static func isBERTWhitespace(_ scalar: Unicode.Scalar, _ category: Unicode.GeneralCategory) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || category == .spaceSeparator
    }

    private static func isPunctuation(_ scalar: Unicode.Scalar, _ category: Unicode.GeneralCategory) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        default: break
        }
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    private static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

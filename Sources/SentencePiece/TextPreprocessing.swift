import Foundation

/// The text clean-up that each token pipeline applies before SentencePiece, reproducing the
/// Python originals scalar by scalar.
enum TextPreprocessing {
    /// Python's `str.isspace()`, which `str.split()` and `str.strip()` use.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
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
        output.reserve(extra: count * 3)
        let asciiClass = Self.asciiClass
        var position = 0
        while position < count {
            let lead = text[position]
            if lead < 0x80 {
                position += 1
                switch asciiClass[Int(lead)] {
                case 0:  // kept
                    output.appendUnchecked(lead)
                case 1:  // dropped control
                    break
                case 2:  // whitespace: ends a token
                    if output.count > (ends.count == 0 ? 0 : ends.base[ends.count - 1]) { ends.append(output.count) }
                default:  // punctuation: a token of its own
                    if output.count > (ends.count == 0 ? 0 : ends.base[ends.count - 1]) { ends.append(output.count) }
                    output.appendUnchecked(lead)
                    ends.append(output.count)
                }
                continue
            }
            // Swift strings hold well-formed UTF-8: a lead byte from 0xE0 starts three or four bytes.
            guard lead & 0xF0 == 0xE0 else { return .notApplicable }
            let codePoint = Int(lead & 0x0F) << 12 | Int(text[position + 1] & 0x3F) << 6 | Int(text[position + 2] & 0x3F)
            if codePoint >= 0xAC00 && codePoint <= 0xD7A3 {
                // Hangul syllable: L = U+1100 + s / 588, V = U+1161 + (s % 588) / 28, T = U+11A7 + s % 28.
                let syllable = codePoint - 0xAC00
                if keepSyllables {
                    output.appendUnchecked(lead)
                    output.appendUnchecked(text[position + 1])
                    output.appendUnchecked(text[position + 2])
                    position += 3
                    continue
                }
                let trailing = syllable % 28
                appendJamo(0x1100 + syllable / 588, to: output)
                appendJamo(0x1161 + (syllable % 588) / 28, to: output)
                if trailing != 0 { appendJamo(0x11A7 + trailing, to: output) }
            } else if codePoint >= 0x3131 && codePoint <= 0x318E {
                if keepSyllables {
                    keepSyllables = false
                    return .retry
                }
                output.appendUnchecked(lead)
                output.appendUnchecked(text[position + 1])
                output.appendUnchecked(text[position + 2])
            } else {
                return .notApplicable
            }
            position += 3
        }
        if output.count > (ends.count == 0 ? 0 : ends.base[ends.count - 1]) { ends.append(output.count) }
        return .done
    }

    /// Appends a conjoining jamo (U+1100...U+11FF) as UTF-8.
    @inline(__always)
    private static func appendJamo(_ codePoint: Int, to output: GrowableBuffer<UInt8>) {
        output.appendUnchecked(0xE1)
        output.appendUnchecked(UInt8(0x80 | (codePoint >> 6) & 0x3F))
        output.appendUnchecked(UInt8(0x80 | codePoint & 0x3F))
    }

    /// Per ASCII byte, what the basic tokenizer does with it: 0 keeps it, 1 drops it (a control
    /// character other than tab, LF and CR), 2 treats it as whitespace, 3 splits it off as
    /// punctuation.
    private static let asciiClass: [UInt8] = (0..<128).map { byte -> UInt8 in
        switch byte {
        case 0x09, 0x0A, 0x0D, 0x20: return 2
        case 0x00...0x1F, 0x7F: return 1
        case 33...47, 58...64, 91...96, 123...126: return 3
        default: return 0
        }
    }

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

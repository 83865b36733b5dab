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

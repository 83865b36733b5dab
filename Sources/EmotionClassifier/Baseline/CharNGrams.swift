import Foundation
import SentencePiece

/// Character n-grams inside word boundaries, exactly as scikit-learn's `analyzer="char_wb"`
/// (`_VectorizerMixin._char_wb_ngrams` after its default preprocessing), on NFC-normalized text.
///
/// The text is NFC-normalized, lowercased as Python's `str.lower()` does (full Unicode mappings and
/// the Final_Sigma rule), and split into words at Python's whitespace (`str.split()`). Each word is
/// padded with one space on each side; for each n in the range, its n-grams are the padded word's
/// windows of n Unicode scalars. A padded word shorter than n contributes itself once (and no longer
/// n-grams follow), as in scikit-learn. N-grams are compared as Unicode scalar sequences, never as
/// Swift `String`s (which treat canonically equivalent text as equal).
public struct CharNGramAnalyzer: Sendable, Equatable {
    /// Shortest and longest n-gram, in Unicode scalars (scikit-learn's `ngram_range`).
    public let ngramRange: ClosedRange<Int>
    /// Lowercase before extracting n-grams (scikit-learn's default).
    public let lowercase: Bool

    /// The longest n-gram supported (n-grams are packed into 128 bits).
    public static let maxN = 6

    public init(ngramRange: ClosedRange<Int> = 1...4, lowercase: Bool = true) throws(LinearClassifierError) {
        guard ngramRange.lowerBound >= 1, ngramRange.upperBound <= Self.maxN else {
            throw .invalidOption("ngram_range \(ngramRange.lowerBound)...\(ngramRange.upperBound) must lie within 1...\(Self.maxN)")
        }
        self.ngramRange = ngramRange
        self.lowercase = lowercase
    }

    /// The text as the n-grams see it: NFC-normalized and, with `lowercase`, lowercased.
    public func normalized(_ text: String) -> [Unicode.Scalar] {
        // Scalars below U+0300 and precomposed Hangul syllables are NFC whatever follows them.
        let isNFC = text.unicodeScalars.allSatisfy { $0.value < 0x300 || (0xAC00...0xD7A3).contains($0.value) }
        let nfc = isNFC ? text : text.precomposedStringWithCanonicalMapping
        let scalars = Array(nfc.unicodeScalars)
        return lowercase ? PythonText.lower(scalars) : scalars
    }

    /// The n-grams of `text` in scikit-learn's order (word by word; within a word, by n, then position).
    public func ngrams(_ text: String) -> [String] {
        var keys: [NGramKey] = []
        appendKeys(of: text, to: &keys)
        return keys.map(\.string)
    }

    /// Appends the packed n-grams of `text` to `keys`, in scikit-learn's order.
    func appendKeys(of text: String, to keys: inout [NGramKey]) {
        let scalars = normalized(text)
        var word: [UInt32] = [0x20]
        var i = 0
        while i < scalars.count {
            guard !PythonText.isSpace(scalars[i]) else { i += 1; continue }
            word.removeAll(keepingCapacity: true)
            word.append(0x20)
            while i < scalars.count, !PythonText.isSpace(scalars[i]) {
                word.append(scalars[i].value)
                i += 1
            }
            word.append(0x20)
            appendWordKeys(word, to: &keys)
        }
    }

    /// `_char_wb_ngrams`'s inner loops for one padded word.
    private func appendWordKeys(_ w: [UInt32], to keys: inout [NGramKey]) {
        let length = w.count
        for n in ngramRange {
            var offset = 0
            keys.append(NGramKey(w, from: 0, count: min(n, length)))
            while offset + n < length {
                offset += 1
                keys.append(NGramKey(w, from: offset, count: n))
            }
            if offset == 0 { break }  // a short word (length <= n) is counted once
        }
    }
}

/// Up to six Unicode scalars packed into two words, 21 bits each (scalar value + 1; 0 marks no scalar).
/// Scalar 0 is in the high bits of `high`, so comparing (`high`, `low`) orders n-grams as Python orders
/// strings: by code point, a prefix first.
struct NGramKey: Hashable, Comparable, Sendable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ scalars: [UInt32], from start: Int, count: Int) {
        var high: UInt64 = 0, low: UInt64 = 0
        for j in 0..<count {
            let slot = UInt64(scalars[start + j] + 1)
            if j < 3 { high |= slot << UInt64((2 - j) * 21) } else { low |= slot << UInt64((5 - j) * 21) }
        }
        self.high = high
        self.low = low
    }

    /// The key of an n-gram given as text, or nil if it has no scalars or more than six.
    init?(_ text: String) {
        let scalars = text.unicodeScalars.map(\.value)
        guard (1...CharNGramAnalyzer.maxN).contains(scalars.count) else { return nil }
        self.init(scalars, from: 0, count: scalars.count)
    }

    /// The scalar values, in order.
    var scalars: [UInt32] {
        var out: [UInt32] = []
        for j in 0..<6 {
            let word = j < 3 ? high : low
            let slot = UInt32((word >> UInt64((2 - j % 3) * 21)) & 0x1F_FFFF)
            if slot == 0 { break }
            out.append(slot - 1)
        }
        return out
    }

    var count: Int { scalars.count }

    var string: String {
        var view = String.UnicodeScalarView()
        for value in scalars { if let s = Unicode.Scalar(value) { view.append(s) } }
        return String(view)
    }

    static func < (a: NGramKey, b: NGramKey) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }
}

/// Python 3's `str.split()` whitespace and `str.lower()`, on Unicode scalars.
enum PythonText {
    /// `str.isspace()`: bidirectional class WS, B or S, or general category Zs.
    static func isSpace(_ s: Unicode.Scalar) -> Bool { TextPreprocessing.isPythonWhitespace(s) }

    /// `str.lower()`: each scalar's full lowercase mapping; a capital sigma becomes final `ς` when a
    /// cased letter precedes it and none follows it (case-ignorable scalars skipped), else `σ`.
    static func lower(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (i, s) in scalars.enumerated() {
            if s.value < 0x80 {
                out.append((0x41...0x5A).contains(s.value) ? Unicode.Scalar(s.value + 32)! : s)
            } else if s.value == 0x3A3 {
                out.append(isFinalSigma(scalars, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`.
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, scalars[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, scalars[j].properties.isCased else { return false }
        j = i + 1
        while j < scalars.count, scalars[j].properties.isCaseIgnorable { j += 1 }
        return j == scalars.count || !scalars[j].properties.isCased
    }
}

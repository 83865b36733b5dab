import Foundation

/// A header column found by `ColumnLookup`.
public struct ColumnMatch: Sendable, Equatable {
    /// 0-based position in the header.
    public var index: Int
    /// The header text as it is in the file.
    public var header: String
    /// Says how the column was found when it was not an exact match (normalization, a fallback name);
    /// nil for an exact match.
    public var note: String?

    public init(index: Int, header: String, note: String? = nil) {
        self.index = index
        self.header = header
        self.note = note
    }
}

/// Finds a named column in a header row: the one rule the dataset loader and `SentenceFile` share.
///
/// 1. An exact match: header and name compared as Unicode scalars after trimming whitespace.
/// 2. Otherwise a match after Unicode normalization (NFC), so a header typed in decomposed jamo (NFD)
///    matches; the match carries a note saying so.
/// 3. Otherwise, for the seed's default names, the names of AI Hub's single-turn set (`한국어_단발성_대화_데이터셋.xlsx`):
///    `발화문` -> `Sentence`, `상황` -> `Emotion`, case-insensitively; again with a note.
///
/// A name that matches more than one header column (at the first step that matches) is an error.
public enum ColumnLookup {
    /// Default column name -> the name used instead when the default is absent.
    public static let fallbacks: [(name: String, fallback: String)] = [("발화문", "Sentence"), ("상황", "Emotion")]

    /// The column a name refers to, nil when none matches.
    /// - Throws: `ColumnLookupError.duplicate` when several columns match.
    public static func find(_ name: String, in header: [String]) throws(ColumnLookupError) -> ColumnMatch? {
        let trimmedName = trim(name)
        let exact = header.indices.filter { trim(header[$0]).unicodeScalars.elementsEqual(trimmedName.unicodeScalars) }
        if let index = try single(exact, name) { return ColumnMatch(index: index, header: header[index]) }

        let normalizedName = nfc(trimmedName)
        let normalized = header.indices.filter { nfc(trim(header[$0])).unicodeScalars.elementsEqual(normalizedName.unicodeScalars) }
        if let index = try single(normalized, name) {
            return ColumnMatch(index: index, header: header[index],
                               note: "column \"\(name)\" matched header \"\(header[index])\" only after Unicode normalization (NFC)")
        }

        guard let fallback = fallbacks.first(where: { nfc($0.name).unicodeScalars.elementsEqual(normalizedName.unicodeScalars) })?.fallback
        else { return nil }
        let key = fallback.lowercased()
        let alternatives = header.indices.filter { nfc(trim(header[$0])).lowercased().unicodeScalars.elementsEqual(key.unicodeScalars) }
        guard let index = try single(alternatives, fallback) else { return nil }
        return ColumnMatch(index: index, header: header[index],
                           note: "no column \"\(name)\"; using \"\(header[index])\" instead")
    }

    private static func single(_ indices: [Int], _ name: String) throws(ColumnLookupError) -> Int? {
        guard indices.count <= 1 else { throw .duplicate(name) }
        return indices.first
    }

    private static func trim(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why a column lookup failed.
public enum ColumnLookupError: Error, Sendable, Equatable {
    /// More than one header column matches the name.
    case duplicate(String)
}

import Foundation

/// Why a label set could not be built.
public enum LabelSetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A label set needs at least two classes.
    case tooFewLabels(count: Int)
    /// A name or alias is empty after trimming whitespace.
    case emptyName
    /// Two names or aliases match the same text (compared trimmed and case-insensitively).
    case duplicateName(String)
    /// An alias points at a label that is not in the set.
    case aliasTargetMissing(alias: String, target: String)
    /// `displayNames` must have one entry per label.
    case displayNameCount(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .tooFewLabels(let count): "a label set needs at least 2 labels, got \(count)"
        case .emptyName: "a label name or alias is empty"
        case .duplicateName(let name): "label name or alias \"\(name)\" is used twice"
        case let .aliasTargetMissing(alias, target): "alias \"\(alias)\" points at unknown label \"\(target)\""
        case let .displayNameCount(expected, found): "expected \(expected) display names, got \(found)"
        }
    }
}

/// The classes a classifier predicts: names in id order, accepted spellings, and Korean display names.
///
/// Label text from a file is matched after trimming whitespace, Unicode normalization (NFC) and ignoring case,
/// against names, aliases, and decimal class ids (`"0"` ..< `"\(count)"`).
public struct LabelSet: Sendable, Hashable, Codable {
    /// Label names; the index of a name is its class id.
    public let names: [String]
    /// Extra spellings, each mapped to a name in `names`.
    public let aliases: [String: String]
    /// Names used in the seed's Korean prediction message (e.g. `행복이`), one per label.
    public let displayNames: [String]
    /// Matching key (trimmed, NFC, lowercased scalars) of every name and alias -> class id.
    private let lookup: [[Unicode.Scalar]: Int]

    /// Builds a label set.
    /// - Parameters:
    ///   - names: label names in class-id order.
    ///   - aliases: other spellings, alias -> name.
    ///   - displayNames: names for messages, one per label; defaults to `names`.
    public init(names: [String], aliases: [String: String] = [:], displayNames: [String]? = nil) throws(LabelSetError) {
        guard names.count >= 2 else { throw .tooFewLabels(count: names.count) }
        let displayNames = displayNames ?? names
        guard displayNames.count == names.count else {
            throw .displayNameCount(expected: names.count, found: displayNames.count)
        }
        var lookup: [[Unicode.Scalar]: Int] = [:]
        func register(_ spelling: String, as id: Int) throws(LabelSetError) {
            let key = Self.matchKey(spelling)
            guard !key.isEmpty else { throw .emptyName }
            guard lookup.updateValue(id, forKey: key) == nil else { throw .duplicateName(spelling) }
        }
        for (id, name) in names.enumerated() { try register(name, as: id) }
        for alias in aliases.keys.sorted() {
            let target = aliases[alias]!
            guard let id = names.firstIndex(where: { $0.unicodeScalars.elementsEqual(target.unicodeScalars) }) else {
                throw .aliasTargetMissing(alias: alias, target: target)
            }
            try register(alias, as: id)
        }
        self.lookup = lookup
        self.names = names
        self.aliases = aliases
        self.displayNames = displayNames
    }

    /// The seed tutorial's seven emotions: fear 0, surprise 1, angry 2, sadness 3, neutral 4, happiness 5,
    /// disgust 6; `anger` and `sad` (used by other years of the dataset) and the Korean names of AI Hub's
    /// single-turn set (공포, 놀람, 분노, 슬픔, 중립, 행복, 혐오) are accepted as aliases.
    public static let seed: LabelSet = try! LabelSet(
        names: ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"],
        aliases: ["anger": "angry", "sad": "sadness",
                  "공포": "fear", "놀람": "surprise", "분노": "angry", "슬픔": "sadness",
                  "중립": "neutral", "행복": "happiness", "혐오": "disgust"],
        displayNames: ["공포가", "놀람이", "분노가", "슬픔이", "중립이", "행복이", "혐오가"]
    )

    /// Number of classes.
    public var count: Int { names.count }

    /// The class id for label text from a file (trimmed, NFC, case-insensitive; name, alias or decimal id),
    /// or nil if it names no class.
    public func id(for label: String) -> Int? {
        let key = Self.matchKey(label)
        if let id = lookup[key] { return id }
        guard !key.isEmpty, key.count <= 9, key.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        let id = key.reduce(0) { $0 * 10 + Int($1.value - 48) }
        return id < count ? id : nil
    }

    /// The seed's prediction message for class `id`, e.g. `>> 입력하신 내용에서 행복이 느껴집니다.`
    public func message(for id: Int) -> String {
        ">> 입력하신 내용에서 \(displayNames[id]) 느껴집니다."
    }

    /// Label text compared as Unicode scalars after trimming whitespace, NFC normalization and lowercasing.
    private static func matchKey(_ text: String) -> [Unicode.Scalar] {
        Array(nfc(text.trimmingCharacters(in: .whitespacesAndNewlines)).lowercased().unicodeScalars)
    }

    private enum CodingKeys: String, CodingKey {
        case names, aliases, displayNames
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                names: container.decode([String].self, forKey: .names),
                aliases: container.decodeIfPresent([String: String].self, forKey: .aliases) ?? [:],
                displayNames: container.decodeIfPresent([String].self, forKey: .displayNames)
            )
        } catch let error as LabelSetError {
            throw DecodingError.dataCorruptedError(forKey: .names, in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(names, forKey: .names)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(displayNames, forKey: .displayNames)
    }
}

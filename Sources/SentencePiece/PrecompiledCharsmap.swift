/// A normalization rule set compiled by sentencepiece's trainer into `precompiled_charsmap`.
///
/// Layout (little-endian): a 4-byte size `n` of the trie, `n` bytes of a darts-clone double-array
/// trie (32-bit units) whose keys are UTF-8 source strings, then a blob of NUL-terminated
/// replacement strings; a key's value is the offset of its replacement in the blob.
///
/// Besides the trie walk, a table over the Basic Multilingual Plane answers most characters in
/// one load: for each code point, the walk's outcome when it cannot depend on what follows.
struct PrecompiledCharsmap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]
    /// Per BMP code point (from its canonical UTF-8 bytes): `noRule`, `needsWalk`, or the
    /// replacement as `offset << 8 | length`, the rule's source being exactly the character.
    private let characterTable: [UInt32]

    /// No rule applies: the character is kept as it is.
    static let noRule: UInt32 = 0xFFFF_FFFF
    /// A longer rule may start with this character: walk the trie.
    static let needsWalk: UInt32 = 0xFFFF_FFFE

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
        self.characterTable = Self.buildCharacterTable(units: units, replacements: replacements)
    }

    /// The longest rule matching a prefix of `input[start..<end]`: its source length in bytes and
    /// the range of its replacement in `replacements`, or nil when no rule matches.
    /// A darts-clone common-prefix search, bounds-checked so that a corrupt trie cannot crash.
    @inline(__always)
    private static func longestMatch(units: UnsafeBufferPointer<UInt32>, replacements: UnsafeBufferPointer<UInt8>,
                                     _ input: UnsafePointer<UInt8>, from start: Int, to end: Int)
        -> (length: Int, replacement: Range<Int>)? {
        var nodePosition = Int(offset(units[0]))
        var bestLength = 0
        var bestValue = -1
        var position = start
        while position < end {
            let byte = input[position]
            nodePosition ^= Int(byte)
            guard nodePosition < units.count else { break }
            let unit = units[nodePosition]
            // label(): the low byte plus the leaf flag in bit 31.
            guard unit & 0x8000_00FF == UInt32(byte) else { break }
            nodePosition ^= Int(offset(unit))
            position += 1
            if (unit >> 8) & 1 == 1 {
                guard nodePosition < units.count else { break }
                bestLength = position - start
                bestValue = Int(units[nodePosition] & 0x7FFF_FFFF)
            }
        }
        guard bestValue >= 0, bestValue < replacements.count else { return nil }
        var replacementEnd = bestValue
        while replacementEnd < replacements.count, replacements[replacementEnd] != 0 { replacementEnd += 1 }
        return (bestLength, bestValue..<replacementEnd)
    }

    /// The longest rule matching a prefix of `input[start..<end]` (see above).
    @inline(__always)
    func longestMatch(_ input: UnsafePointer<UInt8>, from start: Int, to end: Int) -> (length: Int, replacement: Range<Int>)? {
        units.withUnsafeBufferPointer { units in
            replacements.withUnsafeBufferPointer { replacements in
                Self.longestMatch(units: units, replacements: replacements, input, from: start, to: end)
            }
        }
    }

    /// A view of the charsmap for hot loops: valid only inside `withView`.
    struct View {
        let units: UnsafeBufferPointer<UInt32>
        let replacements: UnsafeBufferPointer<UInt8>
        let characterTable: UnsafePointer<UInt32>

        @inline(__always)
        func longestMatch(_ input: UnsafePointer<UInt8>, from start: Int, to end: Int) -> (length: Int, replacement: Range<Int>)? {
            PrecompiledCharsmap.longestMatch(units: units, replacements: replacements, input, from: start, to: end)
        }
    }

    /// Calls `body` with a view of the charsmap.
    @inline(__always)
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try units.withUnsafeBufferPointer { units in
            try replacements.withUnsafeBufferPointer { replacements in
                try characterTable.withUnsafeBufferPointer { table in
                    try body(View(units: units, replacements: replacements, characterTable: table.baseAddress!))
                }
            }
        }
    }

    /// The rule that the normalizer applies first to `bytes` when nothing follows them: the bytes
    /// it consumes and its replacement, or nil when no rule matches.
    func isolatedRule(_ bytes: [UInt8]) -> (consumed: Int, replacement: [UInt8])? {
        units.withUnsafeBufferPointer { units in
            replacements.withUnsafeBufferPointer { replacements in
                bytes.withUnsafeBufferPointer { input -> (consumed: Int, replacement: [UInt8])? in
                    guard let pointer = input.baseAddress,
                          let match = Self.longestMatch(units: units, replacements: replacements, pointer,
                                                        from: 0, to: input.count) else { return nil }
                    return (match.length, Array(replacements[match.replacement]))
                }
            }
        }
    }

    /// Whether some rule starts with all of `bytes`, goes on with the UTF-8 of a sequence of
    /// characters from `same` (if `entersOthers` is false, only those) and then of a character
    /// from `others` (then of any characters from `same` and `rest`), and ends there (or, being
    /// careful, in the middle of a character). With `entersOthers` true it is any rule that goes
    /// on with a first character from `same` or `others`. All ranges hold ASCII or three-byte
    /// characters.
    ///
    /// Used for text where characters from `same` read the same in two versions and those from
    /// `others` (and what continues them) differ: whether a rule starting at `bytes` can see the
    /// difference.
    func canRunOn(_ bytes: [UInt8], same: [ClosedRange<Int>], others: [ClosedRange<Int>], rest: [ClosedRange<Int>],
                  entersOthers: Bool) -> Bool {
        units.withUnsafeBufferPointer { units in
            var node = Int(Self.offset(units[0]))
            for byte in bytes {
                let next = node ^ Int(byte)
                guard next < units.count, units[next] & 0x8000_00FF == UInt32(byte) else { return false }
                node = next ^ Int(Self.offset(units[next]))
            }
            let sets = RunOnSets(same: same, sameOrOthers: same + others, any: same + others + rest)
            return Self.canRunOn(units: units, node: node, partial: [], sets: sets,
                                 state: entersOthers ? .enteringOthers : .inSame)
        }
    }

    private struct RunOnSets {
        let same: [ClosedRange<Int>], sameOrOthers: [ClosedRange<Int>], any: [ClosedRange<Int>]
    }

    private enum RunOnState: Hashable {
        /// Only characters of `same` so far; an `others` character may come next.
        case inSame
        /// At the first character after `bytes`, with `entersOthers`.
        case enteringOthers
        /// Past the point where the texts differ: any rule ending here sees the difference.
        case inOthers
    }

    /// One point of the search: a trie node, the bytes read so far of the current character (0 to 2)
    /// and the state.
    private struct RunOnPoint: Hashable {
        let node: Int
        let partial: [UInt8]
        let state: RunOnState
    }

    /// Depth-first search with an explicit stack and a set of points already reached: a valid trie
    /// is a tree, but a corrupt one can hold cycles (a zeroed range makes a node its own child), which
    /// the recursive search this replaces followed until the stack overflowed. Every point is expanded
    /// at most once, so the work is bounded by 3 x units x (partial characters) whatever the bytes.
    private static func canRunOn(units: UnsafeBufferPointer<UInt32>, node: Int, partial: [UInt8],
                                 sets: RunOnSets, state: RunOnState) -> Bool {
        var stack = [RunOnPoint(node: node, partial: partial, state: state)]
        var seen: Set<RunOnPoint> = [stack[0]]
        while let point = stack.popLast() {
            let ranges = point.state == .inOthers ? sets.any : sets.sameOrOthers
            // The bytes that can come next: a lead byte at a character start, else a continuation.
            let candidates: [ClosedRange<Int>] = point.partial.isEmpty ? [0x00...0x7F, 0xE0...0xEF] : [0x80...0xBF]
            var children: [RunOnPoint] = []
            for candidate in candidates {
                for byte in candidate {
                    let next = point.node ^ byte
                    guard next < units.count, units[next] & 0x8000_00FF == UInt32(byte) else { continue }
                    let prefix = point.partial + [UInt8(byte)]
                    guard let complete = prefixOfSome(prefix, ranges) else { continue }
                    var nextState = point.state
                    if complete && point.state != .inOthers {
                        let isSame = prefixOfSome(prefix, sets.same) == true
                        nextState = point.state == .enteringOthers || !isSame ? .inOthers : .inSame
                    }
                    let endsRule = (units[next] >> 8) & 1 == 1
                    if endsRule && (!complete || nextState == .inOthers) { return true }
                    let child = RunOnPoint(node: next ^ Int(offset(units[next])), partial: complete ? [] : prefix, state: nextState)
                    if seen.insert(child).inserted { children.append(child) }
                }
            }
            // Pushed in reverse so that children are expanded in byte order, as the recursion did.
            stack.append(contentsOf: children.reversed())
        }
        return false
    }

    /// Whether `prefix` begins the UTF-8 of a code point in `ranges` (ASCII or three-byte
    /// characters): nil if not, else whether it is the whole character.
    private static func prefixOfSome(_ prefix: [UInt8], _ ranges: [ClosedRange<Int>]) -> Bool? {
        let lead = Int(prefix[0])
        if lead < 0x80 { return ranges.contains { $0.contains(lead) } ? true : nil }
        guard lead & 0xF0 == 0xE0 else { return nil }
        let threeByte = ranges.filter { $0.lowerBound >= 0x800 && $0.upperBound <= 0xFFFF }
        switch prefix.count {
        case 1:
            let top = lead & 0x0F
            return threeByte.contains { $0.lowerBound >> 12 <= top && top <= $0.upperBound >> 12 } ? false : nil
        case 2:
            let top = (lead & 0x0F) << 6 | Int(prefix[1] & 0x3F)
            return threeByte.contains { $0.lowerBound >> 6 <= top && top <= $0.upperBound >> 6 } ? false : nil
        default:
            let codePoint = (lead & 0x0F) << 12 | Int(prefix[1] & 0x3F) << 6 | Int(prefix[2] & 0x3F)
            return threeByte.contains { $0.contains(codePoint) } ? true : nil
        }
    }

    /// The table entry of every BMP code point: the walk over the character's UTF-8 bytes decides
    /// the outcome on its own unless it reaches the end of the character with the trie still able
    /// to go on (then any rule could continue into the next character: `needsWalk`).
    private static func buildCharacterTable(units: [UInt32], replacements: [UInt8]) -> [UInt32] {
        var table = [UInt32](repeating: needsWalk, count: 0x10000)
        units.withUnsafeBufferPointer { units in
            replacements.withUnsafeBufferPointer { replacements in
                var bytes: (UInt8, UInt8, UInt8) = (0, 0, 0)
                for codePoint in 0..<0x10000 {
                    let count: Int
                    switch codePoint {
                    case 0..<0x80:
                        bytes = (UInt8(codePoint), 0, 0)
                        count = 1
                    case 0x80..<0x800:
                        bytes = (UInt8(0xC0 | codePoint >> 6), UInt8(0x80 | codePoint & 0x3F), 0)
                        count = 2
                    default:
                        bytes = (UInt8(0xE0 | codePoint >> 12), UInt8(0x80 | (codePoint >> 6) & 0x3F),
                                 UInt8(0x80 | codePoint & 0x3F))
                        count = 3
                    }
                    let entry = withUnsafeBytes(of: &bytes) { raw -> UInt32 in
                        let input = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        if walkCanContinue(units: units, input, count) { return needsWalk }
                        guard let match = longestMatch(units: units, replacements: replacements, input, from: 0, to: count)
                        else { return noRule }
                        guard match.length == count, match.replacement.count <= 0xFF,
                              match.replacement.lowerBound < 0xFF_FFFF else { return needsWalk }
                        return UInt32(match.replacement.lowerBound) << 8 | UInt32(match.replacement.count)
                    }
                    table[codePoint] = entry
                }
            }
        }
        return table
    }

    /// Whether the trie walk consumes all of `input[0..<count]` and could then take another byte.
    private static func walkCanContinue(units: UnsafeBufferPointer<UInt32>, _ input: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var nodePosition = Int(offset(units[0]))
        for position in 0..<count {
            let byte = input[position]
            nodePosition ^= Int(byte)
            guard nodePosition < units.count else { return false }
            let unit = units[nodePosition]
            guard unit & 0x8000_00FF == UInt32(byte) else { return false }
            nodePosition ^= Int(offset(unit))
            if (unit >> 8) & 1 == 1 {
                guard nodePosition < units.count else { return false }
            }
        }
        for byte in 0...255 {
            let next = nodePosition ^ byte
            if next < units.count && units[next] & 0x8000_00FF == UInt32(byte) { return true }
        }
        return false
    }

    @inline(__always)
    private static func offset(_ unit: UInt32) -> UInt32 {
        (unit >> 10) << ((unit & (1 << 9)) >> 6)
    }
}

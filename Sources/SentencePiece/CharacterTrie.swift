/// Pieces as a trie over characters rather than bytes, for the Unigram lattice: a walk takes one
/// step per character. Each code point that occurs in some piece gets a label (1...); code points
/// in no piece, and malformed UTF-8, get label 0, which no node has a child for.
///
/// Because keys are well-formed UTF-8 and UTF-8 is self-synchronizing, the pieces that a walk
/// over labels finds from a character start are exactly those a byte-level walk would find.
struct CharacterTrie: Sendable {
    private let trie: DoubleArray
    /// The label of each BMP code point, 0 for none.
    private let bmpLabels: [UInt16]
    /// The labels of code points past the BMP.
    private let otherLabels: [UInt32: Int32]

    /// Builds the trie from `(key, value)` pairs; keys must be distinct.
    init(_ entries: [(key: String, value: Int32)]) {
        var codePoints = Set<UInt32>()
        for entry in entries {
            for scalar in entry.key.unicodeScalars { codePoints.insert(scalar.value) }
        }
        // Ascending, so BMP code points take the first labels (at most 63,488 of them: UInt16).
        var bmpLabels = [UInt16](repeating: 0, count: 0x10000)
        var otherLabels = [UInt32: Int32]()
        for (index, codePoint) in codePoints.sorted().enumerated() {
            if codePoint < 0x10000 {
                bmpLabels[Int(codePoint)] = UInt16(index + 1)
            } else {
                otherLabels[codePoint] = Int32(index + 1)
            }
        }
        let keys = entries.map { entry in
            (key: entry.key.unicodeScalars.map { scalar -> Int in
                scalar.value < 0x10000 ? Int(bmpLabels[Int(scalar.value)]) : Int(otherLabels[scalar.value]!)
            }, value: entry.value)
        }
        trie = DoubleArray(keys, alphabetSize: codePoints.count + 1)
        self.bmpLabels = bmpLabels
        self.otherLabels = otherLabels
    }

    /// A view for hot loops: valid only inside `withView`.
    struct View {
        let trie: DoubleArray.View
        fileprivate let bmpLabels: UnsafePointer<UInt16>
        fileprivate let otherLabels: [UInt32: Int32]

        /// The label of the character at `text[start..<start + length]`, where `length` is the
        /// character's length as sentencepiece steps through text (`OneCharLen`, clipped at the
        /// end): 0 unless those bytes are one well-formed UTF-8 character found in some piece.
        @inline(__always)
        func label(_ text: UnsafePointer<UInt8>, _ start: Int, _ length: Int) -> Int {
            let lead = text[start]
            switch length {
            case 1:
                return lead < 0x80 ? Int(bmpLabels[Int(lead)]) : 0
            case 2:
                let b1 = text[start + 1]
                guard lead >= 0xC2 && lead <= 0xDF && b1 & 0xC0 == 0x80 else { return 0 }
                return Int(bmpLabels[Int(lead & 0x1F) << 6 | Int(b1 & 0x3F)])
            case 3:
                let b1 = text[start + 1], b2 = text[start + 2]
                guard lead & 0xF0 == 0xE0 && b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 else { return 0 }
                let codePoint = Int(lead & 0x0F) << 12 | Int(b1 & 0x3F) << 6 | Int(b2 & 0x3F)
                // Overlong forms decode below U+0800; surrogates have no label.
                return codePoint >= 0x800 ? Int(bmpLabels[codePoint]) : 0
            default:
                let b1 = text[start + 1], b2 = text[start + 2], b3 = text[start + 3]
                guard lead >= 0xF0 && lead <= 0xF4 && b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 && b3 & 0xC0 == 0x80
                else { return 0 }
                let codePoint = UInt32(lead & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6
                    | UInt32(b3 & 0x3F)
                guard codePoint >= 0x10000 else { return 0 }
                return Int(otherLabels[codePoint] ?? 0)
            }
        }
    }

    /// Calls `body` with a view of the trie.
    @inline(__always)
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try trie.withView { trie in
            try bmpLabels.withUnsafeBufferPointer { bmp in
                try body(View(trie: trie, bmpLabels: bmp.baseAddress!, otherLabels: otherLabels))
            }
        }
    }
}

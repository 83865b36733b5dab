/// A double-array trie over integer labels: node `n`'s child along label `l` is the slot
/// `base[n] + l`, which belongs to `n` exactly when `check[slot] == n`. Node 0 is the root. The
/// slots extend past the largest base by the alphabet size, so every `base[n] + l` is in range.
/// Each slot keeps its base, check and value together, so that a step usually touches one cache
/// line.
struct DoubleArray: Sendable {
    struct Unit {
        var base: Int32
        var check: Int32
        /// The value stored at the node, or -1.
        var value: Int32
    }
    private(set) var units = [Unit]()

    /// Builds the trie from `(key, value)` pairs whose labels lie in `0..<alphabetSize`; keys
    /// must be distinct.
    init(_ entries: [(key: [Int], value: Int32)], alphabetSize: Int) {
        // Sorted keys: the keys below a node form a run, the node's own key (if any) first, then
        // one run per child label in ascending order. Nodes are laid out breadth first.
        let sorted = entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }

        let initial = max(512, 2 * alphabetSize)
        var base = [Int32](repeating: 0, count: initial)
        var check = [Int32](repeating: -1, count: initial)
        var values = [Int32](repeating: -1, count: initial)
        // nextFree[i]: a slot >= i that may be free (path-compressed; a free slot points to itself).
        var nextFree = Array(0..<initial)
        func findFree(_ slot: Int) -> Int {
            var root = slot
            while root < nextFree.count && nextFree[root] != root { root = nextFree[root] }
            var walk = slot
            while walk < nextFree.count && nextFree[walk] != walk {
                let next = nextFree[walk]
                nextFree[walk] = root
                walk = next
            }
            return root
        }
        func markUsed(_ slot: Int) { nextFree[slot] = slot + 1 }
        markUsed(0)
        check[0] = -2  // the root is nobody's child
        // Per node: its slot, the depth of its key, and its run of sorted keys.
        var queue: [(slot: Int, depth: Int, low: Int, high: Int)] = [(0, 0, 0, sorted.count)]
        var head = 0
        var labels = [Int]()
        var runStarts = [Int]()
        while head < queue.count {
            let (slot, depth, low, high) = queue[head]
            head += 1
            var first = low
            if first < high && sorted[first].key.count == depth {
                values[slot] = sorted[first].value
                first += 1
            }
            labels.removeAll(keepingCapacity: true)
            runStarts.removeAll(keepingCapacity: true)
            for index in first..<high {
                let label = sorted[index].key[depth]
                if labels.last != label {
                    labels.append(label)
                    runStarts.append(index)
                }
            }
            runStarts.append(high)
            guard let firstLabel = labels.first else { continue }
            var free = findFree(firstLabel + 1)
            var candidate = 0
            search: while true {
                candidate = free - firstLabel
                let needed = candidate + alphabetSize
                if needed > nextFree.count {
                    let extra = max(needed - nextFree.count, nextFree.count / 2)
                    base.append(contentsOf: repeatElement(0, count: extra))
                    check.append(contentsOf: repeatElement(-1, count: extra))
                    values.append(contentsOf: repeatElement(-1, count: extra))
                    nextFree.append(contentsOf: nextFree.count..<(nextFree.count + extra))
                }
                for label in labels.dropFirst() where check[candidate + label] != -1 {
                    free = findFree(free + 1)
                    continue search
                }
                break
            }
            base[slot] = Int32(candidate)
            for (k, label) in labels.enumerated() {
                let childSlot = candidate + label
                markUsed(childSlot)
                check[childSlot] = Int32(slot)
                queue.append((childSlot, depth + 1, runStarts[k], runStarts[k + 1]))
            }
        }
        // Every base + label must stay in range.
        let maxBase = Int(base.max() ?? 0)
        let lastUsed = check.lastIndex(where: { $0 != -1 }) ?? 0
        let size = max(maxBase + alphabetSize, lastUsed + 1)
        if size > base.count {
            let extra = size - base.count
            base.append(contentsOf: repeatElement(0, count: extra))
            check.append(contentsOf: repeatElement(-1, count: extra))
            values.append(contentsOf: repeatElement(-1, count: extra))
        } else {
            base.removeLast(base.count - size)
            check.removeLast(check.count - size)
            values.removeLast(values.count - size)
        }
        units = (0..<size).map { Unit(base: base[$0], check: check[$0], value: values[$0]) }
    }

    /// A view of the trie for hot loops: valid only inside `withView`.
    struct View {
        let units: UnsafePointer<Unit>

        /// The child of `node` along `label`, or -1.
        @inline(__always)
        func child(_ node: Int, _ label: Int) -> Int {
            let slot = Int(units[node].base) &+ label
            return units[slot].check == Int32(truncatingIfNeeded: node) ? slot : -1
        }

        /// The value stored at `node`, or -1.
        @inline(__always)
        func value(_ node: Int) -> Int32 { units[node].value }
    }

    /// Calls `body` with a view of the trie.
    @inline(__always)
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try units.withUnsafeBufferPointer { try body(View(units: $0.baseAddress!)) }
    }

    /// The child of `node` along `label`, or nil.
    @inline(__always)
    func child(_ node: Int, _ label: Int) -> Int? {
        let slot = Int(units[node].base) + label
        return units[slot].check == Int32(truncatingIfNeeded: node) ? slot : nil
    }

    /// The value stored at `node`, or nil.
    @inline(__always)
    func value(_ node: Int) -> Int? {
        let v = units[node].value
        return v < 0 ? nil : Int(v)
    }
}

/// A byte-level trie mapping UTF-8 keys to values, built once and searched without allocating.
struct ByteTrie: Sendable {
    private let trie: DoubleArray

    /// Builds the trie from `(key, value)` pairs; keys must be distinct.
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        trie = DoubleArray(entries.map { (key: $0.key.map(Int.init), value: $0.value) }, alphabetSize: 256)
    }

    /// A view of the trie for hot loops: valid only inside `withView`.
    struct View {
        let trie: DoubleArray.View

        /// The length of the longest key that is a prefix of `bytes[start..<end]`, or 0.
        @inline(__always)
        func longestPrefix(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
            var node = 0
            var longest = 0
            var position = start
            while position < end {
                node = trie.child(node, Int(bytes[position]))
                if node < 0 { break }
                position += 1
                if trie.value(node) >= 0 { longest = position - start }
            }
            return longest
        }
    }

    /// Calls `body` with a view of the trie.
    @inline(__always)
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try trie.withView { try body(View(trie: $0)) }
    }

    /// The value stored for exactly `key`, or nil.
    func exactMatch<C: Collection>(_ key: C) -> Int? where C.Element == UInt8 {
        var node = 0
        for byte in key {
            guard let next = trie.child(node, Int(byte)) else { return nil }
            node = next
        }
        return trie.value(node)
    }

    /// The length of the longest key that is a prefix of `bytes[start...]`, or 0.
    func longestPrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let pointer = bytes.baseAddress else { return 0 }
        return withView { $0.longestPrefix(pointer, from: start, to: bytes.count) }
    }
}

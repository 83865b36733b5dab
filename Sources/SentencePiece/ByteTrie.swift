/// A byte-level trie mapping UTF-8 keys to values, built once and searched without allocating.
///
/// Nodes are numbered; node 0 is the root. A node with many children (the root, and the nodes
/// after a UTF-8 lead byte in Korean text) has a dense 256-entry row in `denseChildren`; other
/// nodes keep a sorted run in `labels`/`targets`, found by binary search.
struct ByteTrie: Sendable {
    /// Nodes with at least this many children get a dense row.
    private static let denseThreshold = 8
    /// Per node: the start of its dense row in `denseChildren`, or -1.
    private var denseRow = [Int32]()
    private var denseChildren = [Int32]()
    private var childStart = [Int32]()
    private var childCount = [Int32]()
    private var labels = [UInt8]()
    private var targets = [Int32]()
    /// The value stored at each node, or -1.
    private var values = [Int32]()

    /// Builds the trie from `(key, value)` pairs; keys must be distinct.
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        // Build with per-node dictionaries, then flatten into sorted runs.
        var children: [[UInt8: Int32]] = [[:]]
        var nodeValues: [Int32] = [-1]
        for (key, value) in entries {
            var node = 0
            for byte in key {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    nodeValues.append(-1)
                    let next = Int32(children.count - 1)
                    children[node][byte] = next
                    node = Int(next)
                }
            }
            nodeValues[node] = value
        }
        values = nodeValues
        childStart.reserveCapacity(children.count)
        childCount.reserveCapacity(children.count)
        denseRow.reserveCapacity(children.count)
        for (node, map) in children.enumerated() {
            childStart.append(Int32(labels.count))
            childCount.append(Int32(map.count))
            let isDense = node == 0 || map.count >= Self.denseThreshold
            denseRow.append(isDense ? Int32(denseChildren.count) : -1)
            let row = denseChildren.count
            if isDense { denseChildren.append(contentsOf: repeatElement(-1, count: 256)) }
            for (label, target) in map.sorted(by: { $0.key < $1.key }) {
                labels.append(label)
                targets.append(target)
                if isDense { denseChildren[row + Int(label)] = target }
            }
        }
    }

    /// The child of `node` along `byte`, or nil.
    @inline(__always)
    func child(_ node: Int, _ byte: UInt8) -> Int? {
        let row = denseRow[node]
        if row >= 0 {
            let target = denseChildren[Int(row) + Int(byte)]
            return target < 0 ? nil : Int(target)
        }
        var low = Int(childStart[node])
        var high = low + Int(childCount[node])
        while low < high {
            let mid = (low + high) >> 1
            let label = labels[mid]
            if label == byte { return Int(targets[mid]) }
            if label < byte { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// The value stored at `node`, or nil.
    @inline(__always)
    func value(_ node: Int) -> Int? {
        let v = values[node]
        return v < 0 ? nil : Int(v)
    }

    /// The value stored for exactly `key`, or nil.
    func exactMatch<C: Collection>(_ key: C) -> Int? where C.Element == UInt8 {
        var node = 0
        for byte in key {
            guard let next = child(node, byte) else { return nil }
            node = next
        }
        return value(node)
    }

    /// The length of the longest key that is a prefix of `bytes[start...]`, or 0.
    func longestPrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var node = 0
        var longest = 0
        var position = start
        while position < bytes.count, let next = child(node, bytes[position]) {
            node = next
            position += 1
            if values[node] >= 0 { longest = position - start }
        }
        return longest
    }
}

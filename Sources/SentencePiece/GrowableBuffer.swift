/// A growable buffer of trivial values, reused across calls so that encoding many texts does not
/// allocate per text. Not thread-safe: each thread keeps its own.
final class GrowableBuffer<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more elements after `count` (the contents are kept).
    @inline(__always)
    func reserve(extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to minimum: Int) {
        var newCapacity = capacity * 2
        while newCapacity < minimum { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends without checking the capacity: call `reserve(extra:)` first.
    @inline(__always)
    func appendUnchecked(_ element: Element) {
        (base + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    func append(_ element: Element) {
        reserve(extra: 1)
        appendUnchecked(element)
    }

    /// The contents as a buffer pointer, valid until the next mutation.
    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }
}

import Foundation

extension SentencePieceModel {
    /// The ids of each text's pieces, in the order of `texts`: element `i` is `encode(texts[i])`.
    ///
    /// The texts are shared out among up to `threads` threads (the calling thread among them),
    /// each with its own buffers, so the result never depends on the number of threads. Values
    /// below 1 count as 1; more threads than texts are not started.
    public func encode(_ texts: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [[Int]] {
        BatchEncoding.map(texts, threads: threads) { text, scratch in encode(text, scratch: scratch) }
    }
}

extension KoBERTTokenizer {
    /// Each text as BERT input, in the order of `texts`: element `i` is
    /// `encode(texts[i], maxLength: maxLength)`.
    ///
    /// The texts are shared out among up to `threads` threads (the calling thread among them),
    /// each with its own buffers, so the result never depends on the number of threads. Values
    /// below 1 count as 1; more threads than texts are not started.
    public func encode(_ texts: [String], maxLength: Int = 64,
                       threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [EncodedSentence] {
        // One array of zeros serves as every sentence's segment ids (arrays are values).
        let zeros = [Int32](repeating: 0, count: max(maxLength, 2))
        return BatchEncoding.map(texts, threads: threads) { text, scratch in
            encode(text, maxLength: maxLength, scratch: scratch, zeros: zeros)
        }
    }
}

/// Runs an encoding over many texts on several threads.
enum BatchEncoding {
    /// How many texts a thread takes at a time.
    private static let blockSize = 16

    /// `texts.map { transform($0, scratch) }`, on up to `threads` threads, each with its own scratch.
    static func map<Result: Sendable>(_ texts: [String], threads: Int,
                                      _ transform: @Sendable (String, SentencePieceModel.Scratch) -> Result) -> [Result] {
        let count = texts.count
        let workers = min(max(threads, 1), (count + blockSize - 1) / blockSize)
        if workers <= 1 {
            let scratch = SentencePieceModel.Scratch()
            return texts.map { transform($0, scratch) }
        }
        return [Result](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Each index is written by exactly one thread, before concurrentPerform returns.
            let results = UncheckedSendable(buffer.baseAddress!)
            // Blocks are handed out in order from a shared counter, so that a thread that
            // meets long texts does not hold the others up.
            let blocks = BlockCounter()
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                let scratch = SentencePieceModel.Scratch()
                while true {
                    let start = blocks.next() * blockSize
                    if start >= count { break }
                    for index in start..<min(start + blockSize, count) {
                        (results.value + index).initialize(to: transform(texts[index], scratch))
                    }
                }
            }
            initialized = count
        }
    }
}

/// A counter shared by the threads of one batch.
private final class BlockCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// 0, 1, 2, ... across all callers.
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count - 1
    }
}

/// A value handed to other threads under a guarantee the compiler cannot check (here: disjoint
/// writes through a pointer that outlives the threads).
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

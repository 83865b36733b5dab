/// A deterministic mutation fuzzer for file readers, shared by the fuzz tests (safetensors, spiece.model,
/// config.json, CSV; later the PyTorch and xlsx readers).
///
/// Each case is a valid seed file with one to three mutations applied: bit flips, zeroed ranges,
/// truncations, inserted random bytes, forged lengths (a little-endian integer or a protobuf varint of an
/// interesting size written over the bytes at some offset), duplicated ranges. The cases depend only on the
/// seed, so a failure names a case that can be replayed:
///
/// ```swift
/// for (index, bytes) in Mutator.cases(of: seedBytes, count: 1000, seed: 7) { ... }
/// let replay = Mutator.mutate(seedBytes, seed: 7, index: 412)
/// ```

/// SplitMix64: a small, fast generator with a fixed sequence per seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum Mutation: Sendable, CustomStringConvertible {
    case flipBits(offset: Int, mask: UInt8)
    case zeroRange(offset: Int, count: Int)
    case truncate(length: Int)
    case insert(offset: Int, bytes: [UInt8])
    case forgeInteger(offset: Int, width: Int, value: UInt64)
    case forgeVarint(offset: Int, value: UInt64)
    case duplicate(from: Int, count: Int, to: Int)

    public var description: String {
        switch self {
        case let .flipBits(o, m): "flip bits \(m) at \(o)"
        case let .zeroRange(o, c): "zero \(c) bytes at \(o)"
        case let .truncate(l): "truncate to \(l) bytes"
        case let .insert(o, b): "insert \(b.count) bytes at \(o)"
        case let .forgeInteger(o, w, v): "write \(w)-byte integer \(v) at \(o)"
        case let .forgeVarint(o, v): "write varint \(v) at \(o)"
        case let .duplicate(f, c, t): "copy \(c) bytes from \(f) to \(t)"
        }
    }

    /// Applies the mutation; offsets beyond the end are clamped.
    public func apply(to bytes: inout [UInt8]) {
        func clamp(_ o: Int) -> Int { min(max(0, o), bytes.count) }
        switch self {
        case let .flipBits(o, m):
            if o < bytes.count { bytes[o] ^= m }
        case let .zeroRange(o, c):
            let lo = clamp(o), hi = clamp(o + c)
            for k in lo..<hi { bytes[k] = 0 }
        case let .truncate(l):
            bytes.removeLast(bytes.count - clamp(l))
        case let .insert(o, b):
            bytes.insert(contentsOf: b, at: clamp(o))
        case let .forgeInteger(o, w, v):
            let lo = clamp(o)
            for k in 0..<w where lo + k < bytes.count { bytes[lo + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        case let .forgeVarint(o, v):
            var encoded: [UInt8] = []
            var rest = v
            repeat {
                encoded.append(UInt8(rest & 0x7F) | (rest >= 0x80 ? 0x80 : 0))
                rest >>= 7
            } while rest > 0
            let lo = clamp(o)
            for (k, b) in encoded.enumerated() where lo + k < bytes.count { bytes[lo + k] = b }
        case let .duplicate(f, c, t):
            let lo = clamp(f), hi = clamp(f + c)
            bytes.insert(contentsOf: Array(bytes[lo..<hi]), at: clamp(t))
        }
    }
}

public enum Mutator {
    /// Sizes that break readers: 0, 1, around powers of two, the largest signed and unsigned values,
    /// and sizes near the file's own length.
    public static func interestingValues(fileSize: Int) -> [UInt64] {
        let n = UInt64(fileSize)
        return [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000,
                0xFFFF_FFFF, 0x1_0000_0000, UInt64(Int64.max), UInt64.max, UInt64.max - 7, n, n &- 1, n &+ 1, n &- 8, n &* 2,
                100_000_000, 100_000_001]
    }

    /// One random mutation of a file of `size` bytes.
    public static func randomMutation(size: Int, using rng: inout SplitMix64) -> Mutation {
        let size = max(size, 1)
        func offset() -> Int {
            // Half the offsets fall in the first 64 bytes, where headers and lengths live.
            rng.next() % 2 == 0 ? Int(rng.next() % UInt64(min(size, 64))) : Int(rng.next() % UInt64(size))
        }
        switch rng.next() % 7 {
        case 0: return .flipBits(offset: offset(), mask: UInt8(1 << (rng.next() % 8)))
        case 1: return .zeroRange(offset: offset(), count: Int(1 + rng.next() % UInt64(min(size, 4096))))
        case 2: return .truncate(length: Int(rng.next() % UInt64(size)))
        case 3:
            let count = Int(1 + rng.next() % 64)
            return .insert(offset: offset(), bytes: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 4:
            let values = interestingValues(fileSize: size)
            let widths = [1, 2, 4, 8]
            return .forgeInteger(offset: offset(), width: widths[Int(rng.next() % 4)], value: values[Int(rng.next() % UInt64(values.count))])
        case 5:
            let values = interestingValues(fileSize: size)
            return .forgeVarint(offset: offset(), value: values[Int(rng.next() % UInt64(values.count))])
        default:
            return .duplicate(from: offset(), count: Int(1 + rng.next() % 256), to: offset())
        }
    }

    /// The mutations of case `index` for `seed`.
    public static func mutations(size: Int, seed: UInt64, index: Int) -> [Mutation] {
        var rng = SplitMix64(seed: seed &* 0x1_0000_0001 &+ UInt64(index))
        let count = Int(1 + rng.next() % 3)
        var size = size
        var result: [Mutation] = []
        for _ in 0..<count {
            let m = randomMutation(size: size, using: &rng)
            result.append(m)
            switch m {
            case .truncate(let l): size = min(size, l)
            case .insert(_, let b): size += b.count
            case .duplicate(_, let c, _): size += c
            default: break
            }
        }
        return result
    }

    /// `bytes` after the mutations of case `index`.
    public static func mutate(_ bytes: [UInt8], seed: UInt64, index: Int) -> [UInt8] {
        var out = bytes
        for m in mutations(size: bytes.count, seed: seed, index: index) { m.apply(to: &out) }
        return out
    }

    /// `count` mutated copies of `bytes`, with their case index.
    public static func cases(of bytes: [UInt8], count: Int, seed: UInt64) -> [(index: Int, bytes: [UInt8])] {
        (0..<count).map { ($0, mutate(bytes, seed: seed, index: $0)) }
    }
}

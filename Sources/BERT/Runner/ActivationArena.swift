import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Every activation (and activation gradient) of a runner, carved from one allocation by a size
/// table that names each buffer and its shape, as llm.c's `ActivationTensors` does. Nothing is
/// allocated per step.
///
/// Dimension letters: B batch (at most `maxBatch`), T longest sequence, C hidden, I intermediate,
/// NH heads, K labels, N real tokens (at most B·T; buffers are sized for maxBatch·maxLength).
final class ActivationArena {
    /// One encoder layer's saved activations.
    struct Layer {
        var qkv: UnsafeMutablePointer<Float>           // [N, 3C] query | key | value
        var probs: UnsafeMutablePointer<Float>         // [B, NH, T, T] attention probabilities
        var probsDropped: UnsafeMutablePointer<Float>  // [B, NH, T, T] after dropout (training only)
        var ctx: UnsafeMutablePointer<Float>           // [N, C] attention output before projection
        var ln1In, ln1Out: UnsafeMutablePointer<Float> // [N, C] residual sum, LayerNorm 1 output
        var ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>  // [N]
        var ffnPre, ffnAct: UnsafeMutablePointer<Float>    // [N, I] before and after GELU
        var ln2In, out: UnsafeMutablePointer<Float>        // [N, C] residual sum, layer output
        var ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>  // [N]
    }

    /// One named buffer of the size table.
    struct Entry {
        let name: String
        let shape: [Int]
        let offset: Int
    }

    private(set) var entries: [Entry] = []
    let count: Int
    let base: UnsafeMutablePointer<Float>
    private let byteCount: Int

    var layers: [Layer] = []
    let embSum, embOut: UnsafeMutablePointer<Float>        // [N, C]
    let embMean, embRstd: UnsafeMutablePointer<Float>      // [N]
    let tmp: UnsafeMutablePointer<Float>                   // [N, C] projection outputs before dropout
    let clsIn, poolPre, pooled, pooledDrop: UnsafeMutablePointer<Float>  // [B, C]
    let logits, probs: UnsafeMutablePointer<Float>         // [B, K]
    // Activation gradients (training only; otherwise they all point at `base` and are never used).
    let dX, dT1, dT2, dctx: UnsafeMutablePointer<Float>    // [N, C]
    let dqkv: UnsafeMutablePointer<Float>                  // [N, 3C]
    let dffn: UnsafeMutablePointer<Float>                  // [N, I]
    let dprobs: UnsafeMutablePointer<Float>                // [B, NH, T, T]
    let dCls, dPool, dPooledDrop: UnsafeMutablePointer<Float>  // [B, C]
    let dLogits: UnsafeMutablePointer<Float>               // [B, K]

    /// Whether every layer has buffers of its own (otherwise all share the first layer's).
    var storesAllLayers: Bool { layers.count < 2 || layers[0].qkv != layers[1].qkv }

    /// - Parameters:
    ///   - training: also the activation gradients, and every layer's activations.
    ///   - keepIntermediates: every layer's activations for inference too (for `intermediate(_:)`).
    ///   - dropsAttention: whether attention probabilities are dropped (then kept twice).
    init(config cfg: BertConfig, maxBatch: Int, maxLength: Int, training: Bool, keepIntermediates: Bool,
         dropsAttention: Bool) throws {
        let C = cfg.hiddenSize, I = cfg.intermediateSize, NH = cfg.numAttentionHeads, K = cfg.numLabels
        let Bm = maxBatch, T = maxLength, N = maxBatch * maxLength
        let storedLayers = training || keepIntermediates ? cfg.numHiddenLayers : min(1, cfg.numHiddenLayers)

        // The size table: every buffer, in order. Sizes use checked arithmetic.
        var table: [(String, [Int])] = []
        for l in 0..<storedLayers {
            let p = "layer\(l)."
            table += [(p + "qkv", [N, 3 * C]), (p + "attn.probs", [Bm, NH, T, T]),
                      (p + "attn.probs.dropped", dropsAttention && training ? [Bm, NH, T, T] : [0]),
                      (p + "attn.context", [N, C]), (p + "ln1.in", [N, C]), (p + "attn.out", [N, C]),
                      (p + "ln1.mean", [N]), (p + "ln1.rstd", [N]), (p + "ffn.pre", [N, I]), (p + "ffn.act", [N, I]),
                      (p + "ln2.in", [N, C]), (p + "out", [N, C]), (p + "ln2.mean", [N]), (p + "ln2.rstd", [N])]
        }
        table += [("emb.sum", [N, C]), ("emb.out", [N, C]), ("emb.mean", [N]), ("emb.rstd", [N]), ("tmp", [N, C]),
                  ("cls.in", [Bm, C]), ("pooler.pre", [Bm, C]), ("pooler", [Bm, C]), ("pooler.dropped", [Bm, C]),
                  ("logits", [Bm, K]), ("probs", [Bm, K])]
        if training {
            table += [("dX", [N, C]), ("dT1", [N, C]), ("dT2", [N, C]), ("dctx", [N, C]), ("dqkv", [N, 3 * C]),
                      ("dffn", [N, I]), ("dprobs", [Bm, NH, T, T]), ("dCls", [Bm, C]), ("dPool", [Bm, C]),
                      ("dPooledDrop", [Bm, C]), ("dLogits", [Bm, K])]
        }
        var total = 0
        for (name, shape) in table {
            var size = 1
            for d in shape {
                let (r, o) = size.multipliedReportingOverflow(by: d)
                guard !o else { throw BertError.invalidBatch("activation \(name) \(shape) overflows") }
                size = r
            }
            entries.append(Entry(name: name, shape: shape, offset: total))
            let (r, o) = total.addingReportingOverflow(size)
            guard !o else { throw BertError.invalidBatch("activations of a \(maxBatch) x \(maxLength) batch overflow") }
            total = r
        }
        // Refuse before allocating what the machine cannot hold.
        let bytes = total.multipliedReportingOverflow(by: 4)
        let physical = ProcessInfo.processInfo.physicalMemory
        guard !bytes.overflow, UInt64(bytes.partialValue) <= physical else {
            throw BertError.invalidBatch("a batch of \(maxBatch) x \(maxLength) needs \(bytes.overflow ? "more than" : String(format: "%.1f", Double(bytes.partialValue) / 1e9)) GB of activations, more than this machine's \(String(format: "%.1f", Double(physical) / 1e9)) GB; use a smaller batch or max length")
        }
        count = total
        // Anonymous pages: zero, page-aligned, and resident only once touched, so a batch uses
        // (and the process's peak RSS counts) only the part of each buffer it writes: packed
        // [N, ·] buffers fill from the front, and [B, NH, T, T] ones up to the batch's B·NH·T·T.
        byteCount = max(1, total) * 4
        #if canImport(Darwin)
        let anonymous = MAP_ANON
        #else
        let anonymous = MAP_ANONYMOUS
        #endif
        guard let raw = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | anonymous, -1, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw BertError.invalidBatch(String(format: "cannot map %.1f GB of activations for a batch of \(maxBatch) x \(maxLength)", Double(byteCount) / 1e9))
        }
        base = raw.bindMemory(to: Float.self, capacity: max(1, total))

        var cursor = entries.makeIterator()
        let b = base
        func next() -> UnsafeMutablePointer<Float> { b + cursor.next()!.offset }
        for _ in 0..<storedLayers {
            layers.append(Layer(qkv: next(), probs: next(), probsDropped: next(), ctx: next(), ln1In: next(),
                                ln1Out: next(), ln1Mean: next(), ln1Rstd: next(), ffnPre: next(), ffnAct: next(),
                                ln2In: next(), out: next(), ln2Mean: next(), ln2Rstd: next()))
        }
        // Without stored intermediates every layer reuses the one set: a layer reads its input
        // (the previous layer's `out`, the same buffer) only before it writes its own `out`.
        while layers.count < cfg.numHiddenLayers { layers.append(layers[0]) }
        embSum = next(); embOut = next(); embMean = next(); embRstd = next(); tmp = next()
        clsIn = next(); poolPre = next(); pooled = next(); pooledDrop = next(); logits = next(); probs = next()
        if training {
            dX = next(); dT1 = next(); dT2 = next(); dctx = next(); dqkv = next(); dffn = next(); dprobs = next()
            dCls = next(); dPool = next(); dPooledDrop = next(); dLogits = next()
        } else {
            dX = b; dT1 = b; dT2 = b; dctx = b; dqkv = b; dffn = b; dprobs = b
            dCls = b; dPool = b; dPooledDrop = b; dLogits = b
        }
    }

    deinit { munmap(base, byteCount) }
}

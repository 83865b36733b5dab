// kobert-bench: writes the benchmark's workload (`--case workload`), then times the Swift BERT
// engine and tokenizer on it, printing one JSON line per case (see Benchmarks/README.md). The
// PyTorch / ONNX Runtime side is Benchmarks/baseline.py.
//
//   kobert-bench --case workload --csv DATA.csv > workload.json
//   kobert-bench --case NAME --iterations N --workload workload.json [--warmup W] [--threads T] [--gemm openblas|onednn]
//   kobert-bench --case tokenizer --csv DATA.csv --iterations N
//
// Cases: workload, train-padded, train-cut, infer-b1, infer-b64, infer-b64-cut, sgemm, sgemm-shapes, kernels, tokenizer,
// profile (train-cut's steps taken apart by the engine's timers), profile-padded.
// The matrix-product backend is --gemm, else KOBERT_GEMM, else the platform's default; every line
// names it ("gemm").
import BERT
import EmotionClassifier
import Foundation
import Kernels
import SentencePiece

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

struct Options {
    var caseName = ""
    var iterations = 3
    var warmup = 1
    var threads = 2
    var workload = ""
    var csv = ""
    var model = ""
    var gemm: GEMMBackend?
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

func parseOptions(_ args: [String]) throws -> Options {
    var o = Options()
    var i = 1
    func value() throws -> String {
        guard i + 1 < args.count else { throw UsageError(description: "\(args[i]) needs a value") }
        i += 1
        return args[i]
    }
    func integer() throws -> Int {
        let flag = args[i], v = try value()
        guard let n = Int(v), n >= 0 else { throw UsageError(description: "\(flag) expects a non-negative integer, got \(v)") }
        return n
    }
    while i < args.count {
        switch args[i] {
        case "--case": o.caseName = try value()
        case "--iterations": o.iterations = max(1, try integer())
        case "--warmup": o.warmup = try integer()
        case "--threads": o.threads = max(1, try integer())
        case "--workload": o.workload = try value()
        case "--csv": o.csv = try value()
        case "--model": o.model = try value()
        case "--gemm": o.gemm = try GEMMBackend(parsing: try value(), source: "--gemm")
        default: throw UsageError(description: "unknown argument \(args[i])")
        }
        i += 1
    }
    return o
}

/// Milliseconds on `clock` (CLOCK_MONOTONIC: wall time; CLOCK_PROCESS_CPUTIME_ID: CPU time of all threads).
@inline(__always)
func now(_ clock: clockid_t = CLOCK_MONOTONIC) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) * 1e-6
}

/// Milliseconds of wall time taken by `body`.
@inline(__always)
func timed(_ body: () throws -> Void) rethrows -> Double {
    let t0 = now()
    try body()
    return now() - t0
}

/// Wall and CPU milliseconds of each of `warmup + iterations` runs of `body`, warm-up runs dropped.
func timedRuns(_ o: Options, _ body: () throws -> Void) rethrows -> (wall: [Double], cpu: [Double]) {
    var wall: [Double] = [], cpu: [Double] = []
    for i in 0..<(o.warmup + o.iterations) {
        let c0 = now(CLOCK_PROCESS_CPUTIME_ID)
        let t = try timed(body)
        let c = now(CLOCK_PROCESS_CPUTIME_ID) - c0
        if i >= o.warmup { wall.append(t); cpu.append(c) }
    }
    return (wall, cpu)
}

/// Peak resident set size of this process, in MiB (ru_maxrss is KiB on Linux).
func peakRSSMiB() -> Double {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / (1024 * 1024)
    #else
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
    #endif
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Prints one result line as JSON (sorted keys), with the context's matrix-product backend.
func emit(_ fields: [String: Any]) throws {
    var fields = fields
    if fields["gemm"] == nil { fields["gemm"] = ComputeContext.current.gemm.rawValue }
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

let labels = ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"]

/// KoBERT's shape, randomly initialized; BERT's own dropouts 0.1.
func makeModel() throws -> BertClassifier {
    try BertClassifier(config: .kobert(numLabels: labels.count), seed: 42)
}

/// The library's training step on a fresh KoBERT-shaped model as the seed trains it (dropout 0.5 before
/// the classifier), batches up to 64 × 64, its phase timers on.
func seedTrainStep(threads: Int) throws -> TrainStep {
    let model = try makeModel()
    var rates = DropoutRates(config: model.config)
    rates.classifier = 0.5
    let trainStep = try TrainStep(model: model, maxBatch: 64, maxLength: 64, dropout: rates, seed: 7,
                                  context: ComputeContext(threads: threads))
    trainStep.timePhases = true
    return trainStep
}

/// The library's training step (forward + backward + clip + AdamW) over `batches` (cycled), with
/// the step's own phase timers; dropout 0.5 before the classifier, as the seed trains.
func trainCase(_ name: String, batches: [WorkBatch], options o: Options) throws {
    let trainStep = try seedTrainStep(threads: o.threads)
    let schedule = CosineSchedule(peak: 5e-5, totalSteps: 5 * 243, warmupRatio: 0.1)
    var phases: [String: [Double]] = ["zero": [], "forward": [], "backward": [], "clip": [], "optimizer": []]
    var totals: [Double] = [], cpu: [Double] = [], lengths: [Int] = [], tokens: [Int] = [], losses: [Double] = []
    for step in 0..<(o.warmup + o.iterations) {
        let work = batches[step % batches.count]
        let batch = work.tokenBatch
        let c0 = now(CLOCK_PROCESS_CPUTIME_ID)
        let result = try trainStep(batch, labels: work.labels, step: step, learningRate: schedule.learningRate(at: step))
        let tCPU = now(CLOCK_PROCESS_CPUTIME_ID) - c0
        if step < o.warmup { continue }
        let p = trainStep.lastPhases
        for (key, t) in [("zero", p.zero), ("forward", p.forward), ("backward", p.backward), ("clip", p.clip), ("optimizer", p.optimizer)] {
            phases[key]!.append(t * 1e3)  // ms
        }
        totals.append(p.total * 1e3)
        cpu.append(tCPU)
        lengths.append(work.length)
        tokens.append(work.realTokens)
        losses.append(Double(result.loss))
    }
    try emit([
        "side": "swift", "case": name, "batch": batches[0].batch, "lengths": lengths, "tokens": tokens,
        "times_ms": totals, "median_ms": median(totals), "cpu_ms": median(cpu),
        "phases_ms": phases.mapValues(median), "loss": losses,
        "max_rss_mib": peakRSSMiB(), "threads": o.threads,
    ])
}

func inferCase(_ name: String, batch work: WorkBatch, options o: Options) throws {
    let model = try makeModel()
    let runner = try BertRunner(model: model, maxBatch: work.batch, maxLength: work.length, training: false,
                                context: ComputeContext(threads: o.threads))
    let batch = work.tokenBatch
    let (times, cpu) = try timedRuns(o) { try runner.forward(batch, mode: .inference) }
    try emit([
        "side": "swift", "case": name, "batch": work.batch, "lengths": [work.length],
        "times_ms": times, "median_ms": median(times), "cpu_ms": median(cpu), "max_rss_mib": peakRSSMiB(), "threads": o.threads,
    ])
}

/// `count` floats drawn from N(0, scale²); the caller deallocates them.
func gaussianBuffer(_ count: Int, scale: Float, _ rng: inout SeededGenerator) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
    for i in 0..<count { p[i] = rng.nextGaussian() * scale }
    return p
}

/// One inference pass taken apart by the engine's own timers (`BertRunner.profiling`): ms per pass
/// and share of each kernel phase, medians of the passes' totals; markdown on stderr, JSON on stdout.
func inferProfileCase(_ name: String, batch work: WorkBatch, options o: Options) throws {
    let runner = try BertRunner(model: try makeModel(), maxBatch: work.batch, maxLength: work.length, training: false,
                                context: ComputeContext(threads: o.threads))
    runner.profiling = true
    let batch = work.tokenBatch
    var seconds: [String: Double] = [:], passes: [Double] = []
    for i in 0..<(o.warmup + o.iterations) {
        runner.profile = KernelProfile()
        let t = try timed { try runner.forward(batch, mode: .inference) }
        if i < o.warmup { continue }
        passes.append(t)
        for (phase, s) in runner.profile.seconds { seconds[phase.rawValue, default: 0] += s }
        seconds["untimed", default: 0] += t / 1e3 - runner.profile.totalSeconds
    }
    let n = Double(passes.count), total = passes.reduce(0, +) / 1e3
    try emit(["side": "swift", "case": name, "times_ms": passes, "median_ms": median(passes), "phases_s": seconds, "threads": o.threads])
    var md = "| phase | ms per pass | % |\n|---|---|---|\n"
    for key in KernelPhase.allCases.map(\.rawValue) + ["untimed"] {
        guard let t = seconds[key] else { continue }
        md += "| \(key) | \(String(format: "%.2f", t * 1e3 / n)) | \(String(format: "%.1f", 100 * t / total)) |\n"
    }
    md += "| **pass** (mean; median \(String(format: "%.2f", median(passes))) ms) | \(String(format: "%.2f", total * 1e3 / n)) | 100 |\n"
    FileHandle.standardError.write(Data(md.utf8))
}

/// One training step taken apart by the engine's own timers (`BertRunner.profiling`, `TrainStep.timePhases`):
/// seconds per kernel phase summed over the measured steps, the achieved rate (FLOPs of the products
/// the steps computed on their real tokens, per second of whole step) and, in the same run, plain
/// sgemm on exactly the steps' product shapes (every `Linear` call replayed). JSON on stdout, the
/// same as a markdown table on stderr.
func profileCase(_ name: String, batches: [WorkBatch], options o: Options) throws {
    let trainStep = try seedTrainStep(threads: o.threads)
    let runner = trainStep.runner
    runner.profiling = true
    let schedule = CosineSchedule(peak: 5e-5, totalSteps: 5 * 243, warmupRatio: 0.1)
    var seconds: [String: Double] = [:]
    var stepSeconds = 0.0, linearFlops = 0.0, attentionFlops = 0.0, tokens = 0
    var calls: [KernelProfile.LinearCall] = []
    var stepTimes: [Double] = []
    for step in 0..<(o.warmup + o.iterations) {
        let work = batches[step % batches.count]
        runner.profile = KernelProfile()
        _ = try trainStep(work.tokenBatch, labels: work.labels, step: step, learningRate: schedule.learningRate(at: step))
        if step < o.warmup { continue }
        let p = trainStep.lastPhases, k = runner.profile
        for (phase, t) in k.seconds { seconds[phase.rawValue, default: 0] += t }
        seconds["zero_grads", default: 0] += p.zero
        seconds["clip", default: 0] += p.clip
        seconds["optimizer", default: 0] += p.optimizer
        seconds["untimed", default: 0] += p.forward + p.backward - k.totalSeconds
        stepSeconds += p.total
        stepTimes.append(p.total * 1e3)
        linearFlops += k.linearFlops
        attentionFlops += k.attentionFlops
        calls += k.linearCalls
        tokens += work.realTokens
    }
    // The same products as plain sgemm (Linear with bias, Linear.backward without the bias sum), same run.
    let maxRows = calls.map(\.rows).max() ?? 1, maxWidth = calls.map { max($0.inChannels, $0.outChannels) }.max() ?? 1
    var rng = SeededGenerator(seed: 5)
    func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { gaussianBuffer(n, scale: 0.05, &rng) }
    let x = buffer(maxRows * maxWidth), y = buffer(maxRows * maxWidth), dx = buffer(maxRows * maxWidth)
    let w = buffer(maxWidth * maxWidth), dw = buffer(maxWidth * maxWidth), bias = buffer(maxWidth)
    var sgemmSeconds = 0.0
    do {  // inside run()'s ComputeContext, as the step
        for c in calls {
            let t = timed {
                if c.backward {
                    Linear.backward(dinp: c.hasInputGradient ? dx : nil, dweight: dw, dbias: nil, dout: y, inp: x, weight: w,
                                    N: c.rows, C: c.inChannels, OC: c.outChannels)
                } else {
                    Linear.forward(out: y, inp: x, weight: w, bias: bias, N: c.rows, C: c.inChannels, OC: c.outChannels)
                }
            }
            sgemmSeconds += t * 1e-3
        }
    }
    for p in [x, y, dx, w, dw, bias] { p.deallocate() }
    let flops = linearFlops + attentionFlops
    let gemmRate = linearFlops / sgemmSeconds, achieved = flops / stepSeconds
    let linearSeconds = seconds[KernelPhase.linearProducts.rawValue] ?? 0
    let order = KernelPhase.allCases.map(\.rawValue) + ["zero_grads", "clip", "optimizer", "untimed"]
    try emit([
        "side": "swift", "case": name, "steps": stepTimes.count, "tokens": tokens, "times_ms": stepTimes,
        "step_seconds": stepSeconds, "phases_s": seconds,
        "flops": flops, "linear_flops": linearFlops, "attention_flops": attentionFlops,
        "achieved_gflops": achieved / 1e9, "sgemm_same_shapes_gflops": gemmRate / 1e9,
        "linear_products_gflops": linearFlops / max(linearSeconds, 1e-12) / 1e9,
        "achieved_percent_of_sgemm": 100 * achieved / gemmRate,
        "max_rss_mib": peakRSSMiB(), "threads": o.threads,
    ])
    var md = "| phase | ms per step | % of step |\n|---|---|---|\n"
    let steps = Double(max(1, stepTimes.count))
    for key in order {
        guard let t = seconds[key] else { continue }
        md += "| \(key) | \(String(format: "%.1f", t * 1e3 / steps)) | \(String(format: "%.1f", 100 * t / stepSeconds)) |\n"
    }
    let outside = stepSeconds - linearSeconds
    md += "| **step** | \(String(format: "%.1f", stepSeconds * 1e3 / steps)) | 100 |\n\n"
    md += String(format: "%d steps, %d real tokens; outside the linear layers' products: %.1f %% of the step.\n", stepTimes.count, tokens, 100 * outside / stepSeconds)
    md += String(format: "Achieved %.1f GFLOP/s (%.1f GFLOP computed: linear %.1f, attention %.1f) = %.1f %% of plain sgemm on the same shapes in this run (%.1f GFLOP/s); the linear products inside the step ran at %.1f GFLOP/s.\n",
                 achieved / 1e9, flops / 1e9, linearFlops / 1e9, attentionFlops / 1e9, 100 * achieved / gemmRate, gemmRate / 1e9,
                 linearFlops / max(linearSeconds, 1e-12) / 1e9)
    FileHandle.standardError.write(Data(md.utf8))
}

/// A plain sgemm of the model's largest shape (N = 64·64 rows, 768 → 3072), the machine's yardstick.
func sgemmCase(options o: Options) throws {
    let m = 4096, k = 768, n = 3072
    var rng = SeededGenerator(seed: 1)
    let a = (0..<m * k).map { _ in rng.nextGaussian() }
    let b = (0..<k * n).map { _ in rng.nextGaussian() }
    var c = [Float](repeating: 0, count: m * n)
    let (times, cpu) = timedRuns(o) {
        sgemmSplit(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 0, c: &c, ldc: n)
    }
    try emit([
        "side": "swift", "case": "sgemm", "shape": [m, k, n], "flops": 2.0 * Double(m * k * n),
        "times_ms": times, "median_ms": median(times), "cpu_ms": median(cpu), "max_rss_mib": peakRSSMiB(), "threads": o.threads,
    ])
}

/// GF/s of every backend this build has, split over the engine's threads and as one library call,
/// on BERT's products: the forward ones (x · Wᵀ) at 64 × 64 padded tokens (4096 rows), one real
/// packed batch (870 rows) and one sentence (13 rows), and the backward ones (dx = dy · W,
/// dW = dyᵀ · x) at 4096 and 870 rows; up to 32 rows also the engine's few-rows AVX2 kernel.
/// One line per shape and way, "way" naming the backend and threading.
func sgemmShapesCase(options o: Options) throws {
    struct Shape { let name: String, transA: Bool, transB: Bool, m: Int, k: Int, n: Int }
    var shapes: [Shape] = []
    for (rows, label) in [(4096, "64x64"), (870, "batch"), (13, "sentence")] {
        for (c, oc) in [(768, 3072), (3072, 768), (768, 768)] {
            shapes.append(Shape(name: "fwd \(label) \(c)->\(oc)", transA: false, transB: true, m: rows, k: c, n: oc))
            if rows == 13 { continue }
            shapes.append(Shape(name: "bwd dx \(label) \(c)->\(oc)", transA: false, transB: false, m: rows, k: oc, n: c))
            shapes.append(Shape(name: "bwd dW \(label) \(c)->\(oc)", transA: true, transB: false, m: oc, k: rows, n: c))
        }
    }
    // Attention's per-sequence, per-head products (one sentence of 26 tokens, head size 64, q/k/v
    // rows of the packed [N, 3C] buffer): single-threaded calls, `sgemm` with each library.
    struct Tiny { let name: String, transA: Bool, transB: Bool, m: Int, k: Int, n: Int, lda: Int, ldb: Int, ldc: Int }
    let L = 26, HS = 64, T = 27
    let tiny = [
        Tiny(name: "attn scores q·kᵀ", transA: false, transB: true, m: L, k: HS, n: L, lda: 2304, ldb: 2304, ldc: T),
        Tiny(name: "attn context P·v", transA: false, transB: false, m: L, k: L, n: HS, lda: T, ldb: 2304, ldc: 768),
        Tiny(name: "attn bwd dk dSᵀ·q", transA: true, transB: false, m: L, k: L, n: HS, lda: T, ldb: 2304, ldc: 2304),
    ]
    var rng = SeededGenerator(seed: 1)
    let maxElements = 4096 * 3072
    let a = (0..<maxElements).map { _ in rng.nextGaussian() }
    let b = (0..<maxElements).map { _ in rng.nextGaussian() }
    var c = [Float](repeating: 0, count: maxElements)
    for shape in tiny {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        let flops = 2.0 * Double(m * k * n)
        let reps = max(1, Int(4e8 / flops))
        for backend in GEMMBackend.available {
            let (times, cpu) = timedRuns(o) {
                for _ in 0..<reps {
                    sgemm(transA: shape.transA, transB: shape.transB, m: m, n: n, k: k, a: a, lda: shape.lda, b: b, ldb: shape.ldb,
                          beta: 0, c: &c, ldc: shape.ldc, backend: backend)
                }
            }
            let ms = median(times) / Double(reps)
            try emit([
                "side": "swift", "case": "sgemm-shapes", "shape_name": shape.name, "shape": [m, k, n],
                "trans": (shape.transA ? "T" : "N") + (shape.transB ? "T" : "N"), "way": "\(backend.rawValue) 1-thread call",
                "median_ms": ms, "cpu_ms": median(cpu) / Double(reps), "gflops": flops / (ms * 1e6), "threads": 1,
                "load": (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "",
            ])
        }
    }
    for shape in shapes {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        let flops = 2.0 * Double(m * k * n)
        let reps = max(1, Int(4e8 / flops))  // at least ~3 ms per timing
        let lda = shape.transA ? m : k, ldb = shape.transB ? k : n
        var ways: [(String, () -> Void)] = []
        for backend in GEMMBackend.available {
            // OpenBLAS is held to one thread for the process: as one call it would use one core.
            for threading in GEMMThreading.allCases where backend != .openblas || threading == .split {
                ways.append(("\(backend.rawValue) \(threading.rawValue)", {
                    sgemmSplit(transA: shape.transA, transB: shape.transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                               beta: 0, c: &c, ldc: n, backend: backend, threading: threading)
                }))
            }
        }
        if m <= Linear.fewRowsLimit && shape.transB && !shape.transA {
            ways.append(("few-rows avx2", { Linear.forwardFewRows(out: &c, inp: a, weight: b, bias: nil, N: m, C: k, OC: n) }))
        }
        for (way, body) in ways {
            let (times, cpu) = timedRuns(o) { for _ in 0..<reps { body() } }
            let ms = median(times) / Double(reps)
            try emit([
                "side": "swift", "case": "sgemm-shapes", "shape_name": shape.name, "shape": [m, k, n],
                "trans": (shape.transA ? "T" : "N") + (shape.transB ? "T" : "N"), "way": way,
                "median_ms": ms, "cpu_ms": median(cpu) / Double(reps), "gflops": flops / (ms * 1e6), "threads": o.threads,
                "load": (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "",
            ])
        }
    }
}

/// The forward products of the 12 × 768 model for M rows with weights from memory, as inference
/// meets them (each layer's own matrices: 340 MB per pass, far beyond the caches), by the few-rows
/// kernel and by each library: the measurement behind `Linear.fewRowsLimit`. One line per M and way.
func fewRowsColdCase(options o: Options) throws {
    let C = 768, I = 3072, L = 12
    let shapes = [(C, 3 * C), (C, C), (C, I), (I, C)]  // (in, out) per layer: qkv, attention out, ffn in, ffn out
    let perLayer = shapes.reduce(0) { $0 + $1.0 * $1.1 }
    var rng = SeededGenerator(seed: 7)
    let weights = gaussianBuffer(L * perLayer, scale: 0.05, &rng)
    defer { weights.deallocate() }
    let maxRows = 96
    let x = (0..<maxRows * I).map { _ in rng.nextGaussian() }
    var y = [Float](repeating: 0, count: maxRows * I)
    for m in [1, 4, 8, 13, 20, 32, 48, 64, 96] {
        var ways: [(String, (Int, Int, UnsafePointer<Float>) -> Void)] = [
            ("few-rows", { k, n, w in Linear.forwardFewRows(out: &y, inp: x, weight: w, bias: nil, N: m, C: k, OC: n) }),
        ]
        for backend in GEMMBackend.available {
            for threading in GEMMThreading.allCases where backend != .openblas || threading == .split {
                ways.append(("\(backend.rawValue) \(threading.rawValue)", { k, n, w in
                    sgemmSplit(transA: false, transB: true, m: m, n: n, k: k, a: x, lda: k, b: w, ldb: k,
                               beta: 0, c: &y, ldc: n, backend: backend, threading: threading)
                }))
            }
        }
        for (way, product) in ways {
            let (times, cpu) = timedRuns(o) {
                var w = UnsafePointer(weights)
                for _ in 0..<L { for (k, n) in shapes { product(k, n, w); w += k * n } }
            }
            let flops = 2.0 * Double(m * L * perLayer)
            try emit([
                "side": "swift", "case": "few-rows-cold", "rows": m, "way": way, "median_ms": median(times), "cpu_ms": median(cpu),
                "gflops": flops / (median(times) * 1e6), "weight_gbps": Double(L * perLayer * 4) / (median(times) * 1e6), "threads": o.threads,
            ])
        }
    }
}

/// Times each kernel of one training step in isolation at the padded training shape (B 64, T 64)
/// and multiplies by how often a step calls it: where a step's time goes.
func kernelsCase(options o: Options) throws {
    let B = 64, T = 64, C = 768, I = 3072, NH = 12, HS = 64, L = 12, N = B * T
    var rng = SeededGenerator(seed: 3)
    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> { gaussianBuffer(count, scale: 0.1, &rng) }
    let x = buffer(N * I), y = buffer(N * I), z = buffer(N * I)
    let w = buffer(I * C), dw = buffer(I * C), bias = buffer(I), dbias = buffer(I)
    let qkv = buffer(N * 3 * C), dqkv = buffer(N * 3 * C), ctx = buffer(N * C)
    let probs = buffer(B * NH * T * T), probsDropped = buffer(B * NH * T * T), scratch = buffer(B * NH * T * T)
    let mean = buffer(N), rstd = buffer(N), lnw = buffer(C), lnb = buffer(C)
    let rowStart = UnsafeMutablePointer<Int32>.allocate(capacity: B + 1)  // packed rows: every sequence full length
    for b in 0...B { rowStart[b] = Int32(b * T) }
    let drop = DropoutSite(probability: 0.1, seed: 1, step: 0, site: 0, positions: 512)
    let model = try makeModel()
    let grads = ParameterBuffer(layout: model.layout)
    let adam = AdamW(layout: model.layout)

    // name, calls per training step, body
    let kernels: [(String, Int, () -> Void)] = [
        ("linear.fwd qkv 768->2304", L, { Linear.forward(out: y, inp: x, weight: w, bias: bias, N: N, C: C, OC: 3 * C) }),
        ("linear.fwd attn-out 768->768", L, { Linear.forward(out: y, inp: x, weight: w, bias: bias, N: N, C: C, OC: C) }),
        ("linear.fwd ffn-in 768->3072", L, { Linear.forward(out: y, inp: x, weight: w, bias: bias, N: N, C: C, OC: I) }),
        ("linear.fwd ffn-out 3072->768", L, { Linear.forward(out: y, inp: x, weight: w, bias: bias, N: N, C: I, OC: C) }),
        ("linear.bwd qkv", L, { Linear.backward(dinp: z, dweight: dw, dbias: dbias, dout: y, inp: x, weight: w, N: N, C: C, OC: 3 * C) }),
        ("linear.bwd attn-out", L, { Linear.backward(dinp: z, dweight: dw, dbias: dbias, dout: y, inp: x, weight: w, N: N, C: C, OC: C) }),
        ("linear.bwd ffn-in", L, { Linear.backward(dinp: z, dweight: dw, dbias: dbias, dout: y, inp: x, weight: w, N: N, C: C, OC: I) }),
        ("linear.bwd ffn-out", L, { Linear.backward(dinp: z, dweight: dw, dbias: dbias, dout: y, inp: x, weight: w, N: N, C: I, OC: C) }),
        ("attention.fwd (dropout)", L, {
            Attention.forward(out: ctx, probs: probs, probsDropped: probsDropped, dropout: drop, qkv: qkv,
                              rows: rowStart, B: B, T: T, NH: NH, HS: HS)
        }),
        ("attention.bwd (dropout)", L, {
            Attention.backward(dqkv: dqkv, scratch: scratch, dout: ctx, qkv: qkv, probs: probs, probsDropped: probsDropped,
                               dropout: drop, rows: rowStart, B: B, T: T, NH: NH, HS: HS)
        }),
        ("layernorm.fwd", 2 * L + 1, { LayerNorm.forward(out: y, mean: mean, rstd: rstd, inp: x, weight: lnw, bias: lnb, N: N, C: C, eps: 1e-12) }),
        ("layernorm.bwd", 2 * L + 1, {
            LayerNorm.backward(dinp: z, dweight: dw, dbias: dbias, dout: y, inp: x, weight: lnw, mean: mean, rstd: rstd, N: N, C: C)
        }),
        ("gelu.fwd", L, { GELU.forward(out: y, inp: x, count: N * I) }),
        ("gelu.bwd", L, { GELU.backward(dinp: z, dout: y, inp: x, count: N * I) }),
        ("dropout.apply [N,C] (fwd+bwd)", 2 * (2 * L + 1), { drop.apply(out: y, inp: x, count: N * C) }),
        ("buffer zero/copy/add [N,C]", 14 * L, { y.update(repeating: 0, count: N * C) }),
        ("gradNorm (clipping)", 1, { _ = gradNorm(grads) }),
        ("adamw.update", 1, { adam.update(params: model.weights, grads: grads, lr: 1e-5) }),
    ]
    var rows: [[String: Any]] = []
    for (name, calls, body) in kernels {
        let (times, cpu) = timedRuns(o, body)
        rows.append(["kernel": name, "calls": calls, "median_ms": median(times), "cpu_ms": median(cpu),
                     "per_step_ms": median(times) * Double(calls)])
    }
    try emit(["side": "swift", "case": "kernels", "batch": B, "lengths": [T], "kernels": rows,
              "max_rss_mib": peakRSSMiB(), "threads": o.threads])
}

/// Tokenizer throughput over every sentence of the dataset: SentencePiece ids alone (what Python's
/// `SentencePieceProcessor.encode` returns; checksummed so the sides can be compared) and the whole
/// KoBERT gluonnlp pipeline (basic tokenizer, pieces, [CLS]/[SEP], padding to 64).
func tokenizerCase(options o: Options) throws {
    guard !o.csv.isEmpty else { throw UsageError(description: "--csv FILE is required for case tokenizer") }
    let texts = try EmotionDataset.load(contentsOf: URL(fileURLWithPath: o.csv)).examples.map(\.text)
    let tokenizer = try WorkloadBuilder.tokenizer()
    var ids: [[Int]] = []
    let raw = timedRuns(o) { ids = texts.map { tokenizer.model.encode($0) } }
    var idsBatch: [[Int]] = []
    let rawBatch = timedRuns(o) { idsBatch = tokenizer.model.encode(texts, threads: o.threads) }
    var encoded: [EncodedSentence] = []
    let pipeline = timedRuns(o) { encoded = texts.map { tokenizer.encode($0, maxLength: 64) } }
    let pipelineBatch = timedRuns(o) { encoded = tokenizer.encode(texts, maxLength: 64, threads: o.threads) }
    precondition(encoded.count == texts.count)
    for (name, runs, threads, ids) in [("tokenizer", raw, 1, ids), ("tokenizer-2t", rawBatch, o.threads, idsBatch),
                                       ("tokenizer-pipeline", pipeline, 1, nil), ("tokenizer-pipeline-2t", pipelineBatch, o.threads, nil)] {
        var fields: [String: Any] = [
            "side": "swift", "case": name, "sentences": texts.count, "threads": threads, "max_rss_mib": peakRSSMiB(),
            "times_ms": runs.wall, "median_ms": median(runs.wall), "cpu_ms": median(runs.cpu),
        ]
        if let ids {
            fields["ids"] = ids.reduce(0) { $0 + $1.count }
            fields["checksum"] = WorkloadBuilder.checksum(ids)
        }
        try emit(fields)
    }
}

/// The character n-gram baseline on the seed split: fitting (vectorizer + L-BFGS) on the training
/// rows, then classifying the test rows; the same work as scikit-learn's side in baseline.py.
func baselineCase(options o: Options) throws {
    guard !o.csv.isEmpty else { throw UsageError(description: "--csv FILE is required for case baseline") }
    let (dataset, split) = try DataOptions(file: URL(fileURLWithPath: o.csv)).loadSplit()
    var model: LinearClassifier?
    let fit = try timedRuns(o) { model = try LinearClassifier.train(split.train, labels: dataset.labels) }
    let texts = split.test.map(\.text)
    var predicted: [Prediction] = []
    let predict = try timedRuns(o) { predicted = try model!.predict(texts) }
    let evaluation = try Evaluation(split: split, predicted: predicted.map(\.id), labels: dataset.labels)
    try emit(["side": "swift", "case": "baseline-fit", "sentences": split.train.count, "features": model!.featureCount,
              "accuracy": evaluation.all.accuracy, "macro_f1": evaluation.all.macroF1,
              "times_ms": fit.wall, "median_ms": median(fit.wall), "cpu_ms": median(fit.cpu), "max_rss_mib": peakRSSMiB(), "threads": o.threads])
    try emit(["side": "swift", "case": "baseline-predict", "sentences": texts.count,
              "sentences_per_s": Double(texts.count) / (median(predict.wall) / 1e3),
              "times_ms": predict.wall, "median_ms": median(predict.wall), "cpu_ms": median(predict.cpu), "max_rss_mib": peakRSSMiB(), "threads": o.threads])
}

func run() throws {
    let o = try parseOptions(CommandLine.arguments)
    // The engine splits its products over these threads; BLAS stays on one.
    holdBLASToOneThread()
    let gemm = try o.gemm ?? GEMMBackend.fromEnvironment()
    try ComputeContext(threads: o.threads, gemm: gemm).run { try runCase(o) }
}

func runCase(_ o: Options) throws {
    func workload() throws -> Workload {
        guard !o.workload.isEmpty else { throw UsageError(description: "--workload FILE is required for case \(o.caseName)") }
        do {
            return try JSONDecoder().decode(Workload.self, from: Data(contentsOf: URL(fileURLWithPath: o.workload)))
        } catch {
            throw UsageError(description: "\(o.workload): cannot read the workload: \(error)")
        }
    }
    switch o.caseName {
    case "workload":
        guard !o.csv.isEmpty else { throw UsageError(description: "--csv FILE is required for case workload") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(try WorkloadBuilder.build(csv: URL(fileURLWithPath: o.csv))), as: UTF8.self))
    case "tokenizer": try tokenizerCase(options: o)
    case "baseline": try baselineCase(options: o)
    case "save-model":
        // A KoBERT-shaped model directory (random weights, the built-in SentencePiece model) that
        // `kobert-emotion predict` and transformers' `from_pretrained` both load: the start-up case.
        guard !o.model.isEmpty else { throw UsageError(description: "--model DIR is required for case save-model") }
        let spm = try Data(contentsOf: SentencePieceModel.builtInEmotionDialogue)
        let model = try EmotionModel(classifier: try makeModel(), sentencePieceData: spm, pipeline: .gluonnlp,
                                     maxLength: 64, labels: .seed)
        try model.save(directory: URL(fileURLWithPath: o.model))
    case "train-padded": try trainCase("train-padded", batches: [try workload().padded], options: o)
    case "train-cut": try trainCase("train-cut", batches: try workload().cut, options: o)
    case "infer-b1": try inferCase("infer-b1", batch: try workload().single, options: o)
    case "infer-b64": try inferCase("infer-b64", batch: try workload().padded, options: o)
    case "infer-b64-cut": try inferCase("infer-b64-cut", batch: try workload().cut[0], options: o)
    case "sgemm": try sgemmCase(options: o)
    case "sgemm-shapes": try sgemmShapesCase(options: o)
    case "profile": try profileCase("profile", batches: try workload().cut, options: o)
    case "few-rows-cold": try fewRowsColdCase(options: o)
    case "profile-infer-b1": try inferProfileCase("profile-infer-b1", batch: try workload().single, options: o)
    case "profile-padded": try profileCase("profile-padded", batches: [try workload().padded], options: o)
    case "kernels": try kernelsCase(options: o)
    default:
        throw UsageError(description: "unknown --case \"\(o.caseName)\" (workload, save-model, baseline, train-padded, train-cut, infer-b1, infer-b64, infer-b64-cut, sgemm, sgemm-shapes, profile, profile-padded, kernels, tokenizer)")
    }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("kobert-bench: \(error)\n".utf8))
    exit(1)
}

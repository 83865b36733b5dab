import Foundation
import Kernels

/// Limited-memory BFGS for smooth unconstrained minimization, with the stopping rules of SciPy's
/// L-BFGS-B as scikit-learn calls it: stop when the largest gradient component is at most
/// `gradientTolerance` (`gtol`), when the relative decrease of the objective in one iteration is at
/// most `functionTolerance` (`ftol`, 64 machine epsilons), or after `maxIterations` iterations.
/// The line search finds a step satisfying the strong Wolfe conditions (sufficient decrease 1e-3,
/// curvature 0.9, as L-BFGS-B's), at most `maxLineSearch` evaluations; the first step is
/// `1/‖g‖`, later ones start at 1.
///
/// Deterministic: vector reductions use a fixed block partition summed in block order, so the result
/// does not depend on the number of threads.
public struct LBFGS: Sendable {
    public var memory = 10
    public var maxIterations = 2000
    public var gradientTolerance = 1e-4
    public var functionTolerance = 64 * Double.ulpOfOne
    public var maxLineSearch = 50

    public init(maxIterations: Int = 2000, gradientTolerance: Double = 1e-4) {
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
    }

    public enum Stop: String, Sendable, Codable {
        case gradient = "projected gradient below tolerance"
        case function = "relative reduction of the objective below tolerance"
        case maxIterations = "maximum number of iterations reached"
        case lineSearch = "line search found no decrease"
        case notFinite = "the objective or its gradient is not finite"
    }

    public struct Result: Sendable {
        public var x: [Double]
        public var value: Double
        /// Largest absolute gradient component at `x`.
        public var gradientMax: Double
        public var iterations: Int
        public var evaluations: Int
        public var stop: Stop
        /// Stopped by one of the tolerances (not by the iteration limit or a failure).
        public var converged: Bool { stop == .gradient || stop == .function }
    }

    /// Minimizes `f` from `x0`. `f(x, g)` returns the objective at `x` and writes its gradient into `g`.
    public func minimize(_ x0: [Double],
                         _ f: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Double) -> Result {
        let n = x0.count
        var evaluations = 0
        func evaluate(_ x: [Double], _ g: inout [Double]) -> Double {
            evaluations += 1
            return x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gp in f(xp, gp) } }
        }
        var x = x0
        var g = [Double](repeating: 0, count: n)
        var fx = evaluate(x, &g)
        guard fx.isFinite, g.allSatisfy(\.isFinite) else {
            return Result(x: x, value: fx, gradientMax: .nan, iterations: 0, evaluations: evaluations, stop: .notFinite)
        }
        var gMax = Vector.maxAbs(g)
        if gMax <= gradientTolerance {
            return Result(x: x, value: fx, gradientMax: gMax, iterations: 0, evaluations: evaluations, stop: .gradient)
        }

        var sHistory: [[Double]] = [], yHistory: [[Double]] = [], rhoHistory: [Double] = []
        var d = [Double](repeating: 0, count: n)
        let zeros = d
        var xTrial = x, gTrial = g
        var iteration = 0
        var stop = Stop.maxIterations
        while iteration < maxIterations {
            // Direction: two-loop recursion on -g.
            Vector.difference(zeros, g, into: &d)
            var alphas = [Double](repeating: 0, count: sHistory.count)
            for j in stride(from: sHistory.count - 1, through: 0, by: -1) {
                alphas[j] = rhoHistory[j] * Vector.dot(sHistory[j], d)
                Vector.axpy(-alphas[j], yHistory[j], &d)
            }
            if let last = sHistory.indices.last {
                let gamma = Vector.dot(sHistory[last], yHistory[last]) / Vector.dot(yHistory[last], yHistory[last])
                Vector.scale(&d, gamma)
            }
            for j in sHistory.indices {
                let beta = rhoHistory[j] * Vector.dot(yHistory[j], d)
                Vector.axpy(alphas[j] - beta, sHistory[j], &d)
            }
            var slope = Vector.dot(g, d)
            if !(slope < 0) {
                // Not a descent direction (round-off): restart from steepest descent.
                sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                Vector.difference(zeros, g, into: &d)
                slope = Vector.dot(g, d)
            }
            let firstStep = sHistory.isEmpty ? 1 / Vector.dot(d, d).squareRoot() : 1

            guard let found = lineSearch(x: x, fx: fx, slope: slope, d: d, step: firstStep,
                                         xTrial: &xTrial, gTrial: &gTrial, evaluate: evaluate) else {
                if !sHistory.isEmpty {
                    // As L-BFGS-B: forget the curvature pairs and retry once from steepest descent.
                    sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                    continue
                }
                stop = .lineSearch
                break
            }
            iteration += 1
            let fOld = fx
            // s = xTrial - x, y = gTrial - g, then move.
            var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
            Vector.difference(xTrial, x, into: &s)
            Vector.difference(gTrial, g, into: &y)
            swap(&x, &xTrial)
            swap(&g, &gTrial)
            fx = found
            let sy = Vector.dot(s, y), yy = Vector.dot(y, y)
            if sy > Double.ulpOfOne * yy {  // else skip the pair (curvature too small), as L-BFGS-B
                if sHistory.count == memory {
                    sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst()
                }
                sHistory.append(s)
                yHistory.append(y)
                rhoHistory.append(1 / sy)
            }
            guard fx.isFinite else { stop = .notFinite; break }
            gMax = Vector.maxAbs(g)
            if gMax <= gradientTolerance { stop = .gradient; break }
            if (fOld - fx) <= functionTolerance * max(abs(fOld), abs(fx), 1) { stop = .function; break }
        }
        return Result(x: x, value: fx, gradientMax: gMax, iterations: iteration, evaluations: evaluations, stop: stop)
    }

    /// Strong Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6, cubic interpolation).
    /// On success `xTrial`, `gTrial` hold the accepted point and its gradient; returns its objective.
    private func lineSearch(x: [Double], fx: Double, slope: Double, d: [Double], step: Double,
                            xTrial: inout [Double], gTrial: inout [Double],
                            evaluate: (_ x: [Double], _ g: inout [Double]) -> Double) -> Double? {
        let c1 = 1e-3, c2 = 0.9
        var evaluations = 0
        // phi(a) at xTrial = x + a d.
        func phi(_ a: Double) -> (f: Double, slope: Double) {
            evaluations += 1
            Vector.step(x, a, d, into: &xTrial)
            let f = evaluate(xTrial, &gTrial)
            return (f, Vector.dot(gTrial, d))
        }
        var best: (a: Double, f: Double, x: [Double], g: [Double])?
        func remember(_ a: Double, _ f: Double) {
            if f < (best?.f ?? fx) { best = (a, f, xTrial, gTrial) }
        }
        func acceptBest() -> Double? {
            // Out of evaluations: take the lowest point found if it decreased the objective enough.
            guard let b = best, b.f <= fx + c1 * b.a * slope else { return nil }
            xTrial = b.x
            gTrial = b.g
            return b.f
        }

        func zoom(_ lo0: Double, _ hi0: Double, _ fLo0: Double, _ fHi0: Double, _ sLo0: Double, _ sHi0: Double) -> Double? {
            var (lo, hi, fLo, fHi, sLo, sHi) = (lo0, hi0, fLo0, fHi0, sLo0, sHi0)
            while evaluations < maxLineSearch {
                let width = hi - lo
                var a = cubicMinimizer(lo, fLo, sLo, hi, fHi, sHi)
                let margin = 0.1 * abs(width)
                let (left, right) = (min(lo, hi) + margin, max(lo, hi) - margin)
                if !a.isFinite || a < left || a > right { a = lo + 0.5 * width }
                let (f, s) = phi(a)
                guard f.isFinite else { hi = a; fHi = .infinity; sHi = .nan; continue }
                remember(a, f)
                if f > fx + c1 * a * slope || f >= fLo {
                    (hi, fHi, sHi) = (a, f, s)
                } else {
                    if abs(s) <= -c2 * slope { return f }
                    if s * (hi - lo) >= 0 { (hi, fHi, sHi) = (lo, fLo, sLo) }
                    (lo, fLo, sLo) = (a, f, s)
                }
                if abs(hi - lo) <= Double.ulpOfOne * max(abs(lo), abs(hi)) { break }
            }
            return acceptBest()
        }

        var (aPrev, fPrev, sPrev) = (0.0, fx, slope)
        var a = step
        while evaluations < maxLineSearch {
            let (f, s) = phi(a)
            if !f.isFinite {
                // Overshot into overflow: shrink.
                a = aPrev + 0.1 * (a - aPrev)
                continue
            }
            remember(a, f)
            if f > fx + c1 * a * slope || (evaluations > 1 && f >= fPrev) {
                return zoom(aPrev, a, fPrev, f, sPrev, s)
            }
            if abs(s) <= -c2 * slope { return f }
            if s >= 0 { return zoom(a, aPrev, f, fPrev, s, sPrev) }
            (aPrev, fPrev, sPrev) = (a, f, s)
            a *= 4
        }
        return acceptBest()
    }

    /// The minimizer of the cubic matching values and slopes at `a` and `b` (NaN if it has none).
    private func cubicMinimizer(_ a: Double, _ fa: Double, _ sa: Double, _ b: Double, _ fb: Double, _ sb: Double) -> Double {
        guard fb.isFinite, sb.isFinite else { return .nan }
        let d1 = sa + sb - 3 * (fa - fb) / (a - b)
        let disc = d1 * d1 - sa * sb
        guard disc >= 0 else { return .nan }
        let d2 = (b > a ? 1.0 : -1.0) * disc.squareRoot()
        return b - (b - a) * (sb + d2 - d1) / (sb - sa + 2 * d2)
    }
}

/// Dense vector operations over `[Double]`; reductions over fixed blocks summed in order, on all cores.
enum Vector {
    static let block = 16_384

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in dot(a, b) } }
    }

    /// Σ a[i] b[i] over fixed blocks of `block` elements (four interleaved partial sums inside a
    /// block), blocks in parallel, block sums added in order: the same bits on any number of threads.
    static func dot(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> Double {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        return reduce(a.count) { range in
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = range.lowerBound
            while i + 4 <= range.upperBound {
                s0 += pa[i] * pb[i]
                s1 += pa[i + 1] * pb[i + 1]
                s2 += pa[i + 2] * pb[i + 2]
                s3 += pa[i + 3] * pb[i + 3]
                i += 4
            }
            while i < range.upperBound {
                s0 += pa[i] * pb[i]
                i += 1
            }
            return (s0 + s1) + (s2 + s3)
        }
    }

    static func maxAbs(_ a: [Double]) -> Double {
        a.withUnsafeBufferPointer { a in
            var m = 0.0
            for v in a { m = max(m, abs(v)) }
            return m
        }
    }

    /// Sum over fixed blocks of `partial(range)`, blocks computed in parallel and added in order.
    static func reduce(_ count: Int, _ partial: (Range<Int>) -> Double) -> Double {
        let blocks = (count + block - 1) / block
        if blocks <= 1 { return partial(0..<count) }
        var sums = [Double](repeating: 0, count: blocks)
        sums.withUnsafeMutableBufferPointer { sums in
            parallelFor(blocks, minChunk: 4) { range in
                for b in range { sums[b] = partial((b * block)..<min(count, (b + 1) * block)) }
            }
        }
        return sums.reduce(0, +)
    }

    /// Element-wise `out[i] = body(i)` work on all cores (each element written by one thread).
    private static func elementwise(_ out: inout [Double], _ body: (UnsafeMutablePointer<Double>, Range<Int>) -> Void) {
        let n = out.count
        out.withUnsafeMutableBufferPointer { o in
            guard let p = o.baseAddress else { return }
            parallelFor(n, minChunk: 65_536) { range in body(p, range) }
        }
    }

    /// y += a x
    static func axpy(_ a: Double, _ x: [Double], _ y: inout [Double]) {
        x.withUnsafeBufferPointer { x in
            guard let px = x.baseAddress else { return }
            elementwise(&y) { py, range in for i in range { py[i] += a * px[i] } }
        }
    }

    static func scale(_ y: inout [Double], _ a: Double) {
        elementwise(&y) { py, range in for i in range { py[i] *= a } }
    }

    /// out = a - b
    static func difference(_ a: [Double], _ b: [Double], into out: inout [Double]) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                guard let pa = a.baseAddress, let pb = b.baseAddress else { return }
                elementwise(&out) { po, range in for i in range { po[i] = pa[i] - pb[i] } }
            }
        }
    }

    /// out = x + a d
    static func step(_ x: [Double], _ a: Double, _ d: [Double], into out: inout [Double]) {
        x.withUnsafeBufferPointer { x in
            d.withUnsafeBufferPointer { d in
                guard let px = x.baseAddress, let pd = d.baseAddress else { return }
                elementwise(&out) { po, range in for i in range { po[i] = px[i] + a * pd[i] } }
            }
        }
    }
}

import Foundation
import Kernels

/// Multinomial logistic regression with an L2 penalty, scikit-learn's `LogisticRegression(C=...)`
/// with the lbfgs solver: it minimizes `C · Σᵢ −log pᵢ[yᵢ] + ½‖W‖²` (intercepts not penalized), in
/// scikit-learn's scaling `(1/n) Σᵢ −log pᵢ[yᵢ] + ‖W‖² / (2 C n)`, whose gradient the tolerance applies
/// to, with `pᵢ = softmax(W xᵢ + b)` over all classes (the symmetric parameterization).
public struct MultinomialLogisticRegression: Sendable {
    /// Weights, `classes × features`, row-major (scikit-learn's `coef_`).
    public var weights: [Double]
    /// Intercepts, one per class (scikit-learn's `intercept_`).
    public var intercepts: [Double]
    public let classes: Int
    public let features: Int
    /// What the optimizer reported.
    public var result: LBFGS.Result?

    /// Fits on rows of `x` with class ids `y` in `0..<classes`.
    public static func fit(x: SparseMatrix, y: [Int], classes: Int, C: Double,
                           optimizer: LBFGS = LBFGS()) -> MultinomialLogisticRegression {
        let objective = Objective(x: x, y: y, classes: classes, C: C)
        let k = classes, f = x.columnCount, stride = objective.stride
        let result = optimizer.minimize([Double](repeating: 0, count: objective.parameterCount)) { theta, grad in
            objective.evaluate(theta, grad)
        }
        // theta is features × stride (feature-major, lanes k..<stride unused), then the intercepts.
        var weights = [Double](repeating: 0, count: k * f)
        for j in 0..<f { for c in 0..<k { weights[c * f + j] = result.x[j * stride + c] } }
        var model = MultinomialLogisticRegression(weights: weights, intercepts: Array(result.x[(f * stride)..<(f * stride + k)]),
                                                  classes: k, features: f)
        model.result = result
        return model
    }

    public init(weights: [Double], intercepts: [Double], classes: Int, features: Int) {
        self.weights = weights
        self.intercepts = intercepts
        self.classes = classes
        self.features = features
    }

    /// The objective in scikit-learn's scaling at these parameters.
    public func objective(x: SparseMatrix, y: [Int], C: Double) -> Double {
        let objective = Objective(x: x, y: y, classes: classes, C: C)
        let stride = objective.stride
        var theta = [Double](repeating: 0, count: objective.parameterCount)
        for j in 0..<features { for c in 0..<classes { theta[j * stride + c] = weights[c * features + j] } }
        for c in 0..<classes { theta[features * stride + c] = intercepts[c] }
        var grad = theta
        return theta.withUnsafeBufferPointer { t in grad.withUnsafeMutableBufferPointer { objective.evaluate(t, $0) } }
    }

    /// Class probabilities of each row, `rows × classes`.
    public func probabilities(_ x: SparseMatrix) -> [[Double]] {
        (0..<x.rowCount).map { r in
            var z = intercepts
            for (j, v) in x.row(r) { for c in 0..<classes { z[c] += v * weights[c * features + j] } }
            return softmax(z)
        }
    }
}

func softmax(_ z: [Double]) -> [Double] {
    let m = z.max() ?? 0
    let e = z.map { exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// The objective and its gradient over parameters laid out feature-major (`theta[j·S + c]` is class
/// c's weight for feature j, with S = `stride` the class count rounded up to a multiple of 4; the
/// intercepts last, also S lanes), so each nonzero of a row reads S adjacent weights as SIMD vectors.
/// Lanes k..<S get a zero gradient from the loss (only the penalty), so starting at zero they stay zero.
/// Rows are scored in parallel (each row written by one thread), the gradient is gathered per feature
/// from the transposed matrix (each feature written by one thread), and sums run in a fixed order:
/// the result does not depend on the number of threads.
struct Objective {
    let x: SparseMatrix
    let xt: SparseMatrix
    let y: [Int]
    let classes: Int
    let C: Double
    /// false runs every loop on the calling thread (same ranges' results; for tests).
    var parallel = true
    /// Lanes per feature: the class count rounded up to a multiple of 4.
    var stride: Int { (classes + 3) / 4 * 4 }
    var parameterCount: Int { (x.columnCount + 1) * stride }

    init(x: SparseMatrix, y: [Int], classes: Int, C: Double) {
        self.x = x
        self.xt = x.transposed()
        self.y = y
        self.classes = classes
        self.C = C
    }

    private func run(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        if parallel { parallelFor(count, minChunk: minChunk, body) } else { body(0..<count) }
    }

    func evaluate(_ theta: UnsafeBufferPointer<Double>, _ grad: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = x.rowCount, k = classes, f = x.columnCount, S = stride, quads = S / 4
        let scale = 1 / Double(n)
        guard let t = theta.baseAddress, let g = grad.baseAddress, theta.count == parameterCount else { return .nan }
        // Residuals (p - onehot) / n per row (S lanes, the unused ones zero), and each row's log-loss.
        let residual = UnsafeMutablePointer<Double>.allocate(capacity: n * S)
        residual.initialize(repeating: 0, count: n * S)
        let rowLoss = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { residual.deallocate(); rowLoss.deallocate() }
        x.rowStart.withUnsafeBufferPointer { rowStart in
            x.columns.withUnsafeBufferPointer { columns in
                x.values.withUnsafeBufferPointer { values in
                    y.withUnsafeBufferPointer { y in
                        run(n, minChunk: 256) { range in
                            let z = UnsafeMutablePointer<Double>.allocate(capacity: S)
                            defer { z.deallocate() }
                            for i in range {
                                Lanes.accumulate(quads, start: t + f * S, rows: rowStart[i]..<rowStart[i + 1], into: z) { p in
                                    (t + Int(columns[p]) * S, values[p])
                                }
                                var m = z[0]
                                for c in 1..<k { m = max(m, z[c]) }
                                let label = y[i]
                                let zLabel = z[label]
                                var sum = 0.0
                                for c in 0..<k {
                                    z[c] = exp(z[c] - m)
                                    sum += z[c]
                                }
                                // -log p[label] = log Σ exp(z - m) - (z[label] - m)
                                rowLoss[i] = log(sum) - (zLabel - m)
                                let r = residual + i * S
                                for c in 0..<k { r[c] = (z[c] / sum - (c == label ? 1 : 0)) * scale }
                            }
                        }
                    }
                }
            }
        }
        let lambda = 1 / (C * Double(n))
        // Gradient of the weights: per feature, sum over its rows; plus the penalty.
        xt.rowStart.withUnsafeBufferPointer { start in
            xt.columns.withUnsafeBufferPointer { rows in
                xt.values.withUnsafeBufferPointer { values in
                    run(f, minChunk: 512) { range in
                        let acc = UnsafeMutablePointer<Double>.allocate(capacity: S)
                        defer { acc.deallocate() }
                        for j in range {
                            Lanes.accumulate(quads, start: nil, rows: start[j]..<start[j + 1], into: acc) { p in
                                (UnsafePointer(residual + Int(rows[p]) * S), values[p])
                            }
                            let base = j * S
                            for c in 0..<S { g[base + c] = acc[c] + lambda * t[base + c] }
                        }
                    }
                }
            }
        }
        for c in 0..<S {
            var s = 0.0
            for i in 0..<n { s += residual[i * S + c] }
            g[f * S + c] = s
        }
        var loss = 0.0
        for i in 0..<n { loss += rowLoss[i] }
        let penalty = Vector.dot(UnsafeBufferPointer(start: t, count: f * S), UnsafeBufferPointer(start: t, count: f * S))
        return loss * scale + 0.5 * lambda * penalty
    }
}

/// Sums of scaled vectors of 4·`quads` doubles, with SIMD registers for up to 8 lanes.
enum Lanes {
    /// `out = start + Σ_{p in rows} v_p · vector_p` where `term(p)` gives (vector_p, v_p); `start`
    /// nil means zero. Lanes are independent and each is summed in `rows` order.
    @inline(__always)
    static func accumulate(_ quads: Int, start: UnsafePointer<Double>?, rows: Range<Int>, into out: UnsafeMutablePointer<Double>,
                           _ term: (Int) -> (UnsafePointer<Double>, Double)) {
        func load(_ p: UnsafePointer<Double>, _ q: Int) -> SIMD4<Double> {
            UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 32 * q, as: SIMD4<Double>.self)
        }
        func store(_ v: SIMD4<Double>, _ q: Int) {
            UnsafeMutableRawPointer(out).storeBytes(of: v, toByteOffset: 32 * q, as: SIMD4<Double>.self)
        }
        switch quads {
        case 1:
            var a = start.map { load($0, 0) } ?? .zero
            for p in rows { let (w, v) = term(p); a += v * load(w, 0) }
            store(a, 0)
        case 2:
            var a = start.map { load($0, 0) } ?? .zero
            var b = start.map { load($0, 1) } ?? .zero
            for p in rows {
                let (w, v) = term(p)
                a += v * load(w, 0)
                b += v * load(w, 1)
            }
            store(a, 0)
            store(b, 1)
        default:
            let lanes = 4 * quads
            for c in 0..<lanes { out[c] = start?[c] ?? 0 }
            for p in rows {
                let (w, v) = term(p)
                for c in 0..<lanes { out[c] += v * w[c] }
            }
        }
    }
}

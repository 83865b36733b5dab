/// How far an array of numbers is from a reference: the yardstick of every parity test and of
/// the by-hand full-size check.
public struct Discrepancy: CustomStringConvertible, Sendable {
    public var maxAbsolute: Float = 0
    public var maxRelative: Float = 0
    /// Index of the element that most exceeds `atol + rtol·|ref|` (or of the largest error).
    public var worstIndex: Int = -1
    /// Whether every element satisfies |x − ref| ≤ atol + rtol·|ref| (and the counts match).
    public var withinTolerance = true
    public let atol: Float, rtol: Float

    /// Compares `values` with `reference` element by element. NaN anywhere fails.
    public init(_ values: some Collection<Float>, _ reference: some Collection<Float>, atol: Float, rtol: Float) {
        self.atol = atol
        self.rtol = rtol
        guard values.count == reference.count else {
            withinTolerance = false
            maxAbsolute = .infinity
            return
        }
        var worstExcess = -Float.infinity
        for (i, (x, r)) in zip(values, reference).enumerated() {
            let d = abs(x - r)
            if !(d <= atol + rtol * abs(r)) { withinTolerance = false }
            if d.isNaN { maxAbsolute = .nan; worstIndex = i; withinTolerance = false; return }
            maxAbsolute = max(maxAbsolute, d)
            if r != 0 { maxRelative = max(maxRelative, d / abs(r)) }
            let excess = d - (atol + rtol * abs(r))
            if excess > worstExcess { worstExcess = excess; worstIndex = i }
        }
    }

    public var description: String {
        "max abs err \(maxAbsolute), max rel err \(maxRelative), worst at [\(worstIndex)] (tolerance \(atol) + \(rtol)·|ref|)"
    }
}

import Foundation
import Kernels

/// A sparse matrix in compressed sparse row form: row `r`'s entries are
/// `columns[rowStart[r]..<rowStart[r + 1]]` (ascending) and the values beside them.
public struct SparseMatrix: Sendable, Equatable {
    public let columnCount: Int
    public var rowStart: [Int]
    public var columns: [Int32]
    public var values: [Double]

    public var rowCount: Int { rowStart.count - 1 }
    public var nonZeroCount: Int { values.count }

    public init(columnCount: Int, rowStart: [Int], columns: [Int32], values: [Double]) {
        self.columnCount = columnCount
        self.rowStart = rowStart
        self.columns = columns
        self.values = values
    }

    /// Row `r` as (column, value) pairs.
    public func row(_ r: Int) -> [(column: Int, value: Double)] {
        (rowStart[r]..<rowStart[r + 1]).map { (Int(columns[$0]), values[$0]) }
    }

    /// The transpose, also in CSR form (that is, this matrix in compressed sparse column form);
    /// each of its rows lists this matrix's rows in ascending order.
    public func transposed() -> SparseMatrix {
        var start = [Int](repeating: 0, count: columnCount + 1)
        for c in columns { start[Int(c) + 1] += 1 }
        for c in 0..<columnCount { start[c + 1] += start[c] }
        var next = start
        var tColumns = [Int32](repeating: 0, count: values.count)
        var tValues = [Double](repeating: 0, count: values.count)
        for r in 0..<rowCount {
            for k in rowStart[r]..<rowStart[r + 1] {
                let c = Int(columns[k])
                tColumns[next[c]] = Int32(r)
                tValues[next[c]] = values[k]
                next[c] += 1
            }
        }
        return SparseMatrix(columnCount: rowCount, rowStart: start, columns: tColumns, values: tValues)
    }
}

/// TF-IDF features of character n-grams, as scikit-learn's `TfidfVectorizer(analyzer="char_wb",
/// min_df=..., sublinear_tf=...)` with its defaults `smooth_idf=True`, `norm="l2"`: an n-gram's
/// weight in a document is `tf · idf` with `tf` its count (or `1 + ln count` with `sublinearTF`) and
/// `idf = ln((1 + documents) / (1 + documents containing it)) + 1`; each row is scaled to unit L2
/// norm (a row without known n-grams stays zero). The vocabulary is the n-grams found in at least
/// `minDF` training documents, in code-point order (scikit-learn's column order).
public struct TfidfVectorizer: Sendable {
    public let analyzer: CharNGramAnalyzer
    public let sublinearTF: Bool
    /// The n-gram of each column.
    let features: [NGramKey]
    let columnOf: [NGramKey: Int32]
    /// Inverse document frequency of each column.
    public let idf: [Double]

    /// Number of features (columns).
    public var featureCount: Int { features.count }

    /// The n-gram of each column, in column order (scikit-learn's `get_feature_names_out()`).
    public var featureNames: [String] { features.map(\.string) }

    /// A vectorizer with a given vocabulary (n-grams in column order) and idf.
    init(analyzer: CharNGramAnalyzer, sublinearTF: Bool, features: [NGramKey], idf: [Double]) throws(LinearClassifierError) {
        guard features.count == idf.count else {
            throw .invalidModel("\(features.count) n-grams but \(idf.count) idf values")
        }
        var columnOf: [NGramKey: Int32] = [:]
        columnOf.reserveCapacity(features.count)
        for (column, key) in features.enumerated() {
            guard ngramLengthOK(key.count, analyzer) else {
                throw .invalidModel("n-gram \(column) has \(key.count) characters, outside the n-gram range \(analyzer.ngramRange)")
            }
            guard columnOf.updateValue(Int32(column), forKey: key) == nil else {
                throw .invalidModel("n-gram \(column) occurs twice in the vocabulary")
            }
        }
        self.analyzer = analyzer
        self.sublinearTF = sublinearTF
        self.features = features
        self.columnOf = columnOf
        self.idf = idf
    }

    /// Learns the vocabulary and idf from `documents` and returns their feature rows.
    public static func fit(_ documents: [String], analyzer: CharNGramAnalyzer, minDF: Int = 2,
                           sublinearTF: Bool = true) throws(LinearClassifierError) -> (TfidfVectorizer, SparseMatrix) {
        guard minDF >= 1 else { throw .invalidOption("min_df must be at least 1, got \(minDF)") }
        guard !documents.isEmpty else { throw .noExamples }
        let counted = countNGrams(documents, analyzer: analyzer)
        var df: [NGramKey: Int] = [:]
        for doc in counted { for (key, _) in doc { df[key, default: 0] += 1 } }
        guard !df.isEmpty else { throw .emptyVocabulary("the documents contain no n-grams (they are all whitespace)") }
        let features = df.compactMap { $0.value >= minDF ? $0.key : nil }.sorted()
        guard !features.isEmpty else {
            throw .emptyVocabulary("no n-gram occurs in \(minDF) or more of the \(documents.count) documents (min_df \(minDF)); "
                + "lower min_df or add data")
        }
        let n = Double(documents.count)
        let idf = features.map { log((1 + n) / (1 + Double(df[$0]!))) + 1 }
        let vectorizer = try TfidfVectorizer(analyzer: analyzer, sublinearTF: sublinearTF, features: features, idf: idf)
        return (vectorizer, vectorizer.rows(counted))
    }

    /// Feature rows of `documents` (n-grams outside the vocabulary are ignored).
    public func transform(_ documents: [String]) -> SparseMatrix {
        rows(Self.countNGrams(documents, analyzer: analyzer))
    }

    /// Each document's distinct n-grams with their counts, in key order; documents on all cores.
    static func countNGrams(_ documents: [String], analyzer: CharNGramAnalyzer) -> [[(NGramKey, Int)]] {
        var out = [[(NGramKey, Int)]](repeating: [], count: documents.count)
        out.withUnsafeMutableBufferPointer { out in
            parallelFor(documents.count, minChunk: 64) { range in
                var keys: [NGramKey] = []
                for d in range {
                    keys.removeAll(keepingCapacity: true)
                    analyzer.appendKeys(of: documents[d], to: &keys)
                    keys.sort()
                    var counts: [(NGramKey, Int)] = []
                    var i = 0
                    while i < keys.count {
                        var j = i + 1
                        while j < keys.count, keys[j] == keys[i] { j += 1 }
                        counts.append((keys[i], j - i))
                        i = j
                    }
                    out[d] = counts
                }
            }
        }
        return out
    }

    /// TF-IDF rows from counted n-grams.
    private func rows(_ counted: [[(NGramKey, Int)]]) -> SparseMatrix {
        var perRow = [[(Int32, Double)]](repeating: [], count: counted.count)
        perRow.withUnsafeMutableBufferPointer { perRow in
            parallelFor(counted.count, minChunk: 64) { range in
                for d in range {
                    var entries: [(Int32, Double)] = []
                    entries.reserveCapacity(counted[d].count)
                    for (key, count) in counted[d] {
                        guard let column = columnOf[key] else { continue }
                        let tf = sublinearTF ? 1 + log(Double(count)) : Double(count)
                        entries.append((column, tf * idf[Int(column)]))
                    }
                    entries.sort { $0.0 < $1.0 }
                    let norm = entries.reduce(0.0) { $0 + $1.1 * $1.1 }.squareRoot()
                    if norm > 0 { for k in entries.indices { entries[k].1 /= norm } }
                    perRow[d] = entries
                }
            }
        }
        var rowStart = [0]
        rowStart.reserveCapacity(counted.count + 1)
        var columns: [Int32] = [], values: [Double] = []
        let total = perRow.reduce(0) { $0 + $1.count }
        columns.reserveCapacity(total)
        values.reserveCapacity(total)
        for entries in perRow {
            for (c, v) in entries {
                columns.append(c)
                values.append(v)
            }
            rowStart.append(columns.count)
        }
        return SparseMatrix(columnCount: features.count, rowStart: rowStart, columns: columns, values: values)
    }
}

private func ngramLengthOK(_ count: Int, _ analyzer: CharNGramAnalyzer) -> Bool {
    // A short padded word contributes itself whole, so n-grams shorter than the range's minimum occur
    // (a padded word has at least 3 scalars; a bare 1 or 2 only when the minimum is that small).
    count >= 1 && count <= analyzer.ngramRange.upperBound
}

import Foundation
import Testing
import SafeTensors

/// URL of a file in this target's Fixtures folder.
func fixtureURL(_ name: String) throws -> URL {
    let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return folder.appendingPathComponent(name)
}

/// A safetensors file assembled from header text and data bytes, with the true header length unless
/// `declaredLength` overrides it.
func assemble(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> Data {
    var file = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(header.count)).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: header)
    file.append(contentsOf: data)
    return file
}

func assemble(header: String, data: [UInt8]) -> Data { assemble(header: Array(header.utf8), data: data) }

/// A file split back into its header text and data section.
struct SplitFile {
    let header: String
    let data: [UInt8]

    init(_ file: Data) {
        let length = Int(file.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let bytes = [UInt8](file)
        header = String(decoding: bytes[8..<8 + length], as: UTF8.self)
        data = Array(bytes[(8 + length)...])
    }
}

/// Largest absolute error over elements where both values are finite, and the number of elements whose
/// bit patterns differ (any NaN matches any NaN). Printed by the tests that use it.
func compareBits(_ actual: [Float], _ expected: [Float], label: String) -> (maxAbsError: Float, mismatches: Int) {
    var maxAbsError: Float = 0
    var mismatches = 0
    for (a, e) in zip(actual, expected) {
        if a.isFinite && e.isFinite { maxAbsError = max(maxAbsError, abs(a - e)) }
        let same = (a.isNaN && e.isNaN) || a.bitPattern == e.bitPattern
        if !same { mismatches += 1 }
    }
    mismatches += abs(actual.count - expected.count)
    print("\(label): \(actual.count) elements, tolerance 0 (bit-exact), max abs error \(maxAbsError), bit mismatches \(mismatches)")
    return (maxAbsError, mismatches)
}

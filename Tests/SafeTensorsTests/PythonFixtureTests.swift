import Foundation
import Testing
import SafeTensors

/// Values written by Python's `safetensors` (Scripts/make_safetensors_fixtures.py) and what it says
/// they are: float tensors as float32 bit patterns, integer tensors as integers.
private struct Expected: Decodable {
    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let float_bits: [UInt32]?
        let ints: [Int]?
    }
    let metadata: [String: String]
    let tensors: [String: Tensor]

    static func load() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtureURL("python_dtypes.expected.json")))
    }
}

@Suite struct PythonFixtureTests {
    let file: SafeTensorsFile
    private let expected: Expected

    init() throws {
        file = try SafeTensorsFile(contentsOf: fixtureURL("python_dtypes.safetensors"))
        expected = try Expected.load()
    }

    @Test func namesAndMetadataMatchPython() {
        #expect(file.names == expected.tensors.keys.sorted())
        #expect(file.metadata.keys.sorted() == expected.metadata.keys.sorted())
        for (key, value) in expected.metadata {
            #expect(file.metadata[key].map { Array($0.unicodeScalars) } == Array(value.unicodeScalars), "metadata \(key)")
        }
    }

    @Test func everyTensorReadsExactlyWhatPythonWrote() throws {
        #expect(expected.tensors.count >= 13)
        for (name, tensor) in expected.tensors.sorted(by: { $0.key < $1.key }) {
            let info = try #require(file.info(name))
            #expect(info.name == name)
            #expect(info.dtype.rawValue == tensor.dtype, "\(name)")
            #expect(info.shape == tensor.shape, "\(name)")
            #expect(info.byteRange.count == info.count * info.dtype.byteSize, "\(name)")
            if let bits = tensor.float_bits {
                #expect(info.count == bits.count, "\(name)")
                let (_, mismatches) = compareBits(try file.floats(name), bits.map(Float.init(bitPattern:)), label: name)
                #expect(mismatches == 0, "\(name)")
            } else {
                let ints = try #require(tensor.ints)
                let actual = try file.ints(name)
                let mismatches = zip(actual, ints).filter { $0 != $1 }.count + abs(actual.count - ints.count)
                print("\(name): \(actual.count) integers, tolerance 0, mismatches \(mismatches)")
                #expect(actual == ints, "\(name)")
            }
        }
    }

    @Test func scalarAndEmptyTensors() throws {
        let scalar = try #require(file.info("scalar"))
        #expect(scalar.shape == [] && scalar.count == 1)
        #expect(try file.floats("scalar") == [3.25])
        let empty = try #require(file.info("empty"))
        #expect(empty.shape == [2, 0] && empty.count == 0 && empty.byteRange.isEmpty)
        #expect(try file.floats("empty") == [])
    }

    @Test func copyFloatsFillsTheDestination() throws {
        let name = "layer.0.attention.self.query.weight"
        var buffer = [Float](repeating: .nan, count: 12)
        try buffer.withUnsafeMutableBufferPointer { try file.copyFloats(name, into: $0, expectedShape: [4, 3]) }
        let reference = (0..<12).map { Float($0) / 8 }
        let (_, mismatches) = compareBits(buffer, reference, label: "copyFloats \(name)")
        #expect(mismatches == 0)
    }

    @Test func copyFloatsRejectsWrongCountOrShape() throws {
        let name = "layer.0.attention.self.query.weight"
        var small = [Float](repeating: 0, count: 11)
        let countError = try #require(throws: SafeTensorsError.self) {
            try small.withUnsafeMutableBufferPointer { try file.copyFloats(name, into: $0) }
        }
        #expect(countError.message.contains("tensor '\(name)'"))
        #expect(countError.message.contains("destination holds 11 elements, file has shape [4, 3] (12 elements)"))

        var right = [Float](repeating: 0, count: 12)
        let shapeError = try #require(throws: SafeTensorsError.self) {
            try right.withUnsafeMutableBufferPointer { try file.copyFloats(name, into: $0, expectedShape: [3, 4]) }
        }
        #expect(shapeError.message.contains("expected shape [3, 4], file has shape [4, 3]"))
        #expect(shapeError.file.hasSuffix("python_dtypes.safetensors"))
    }

    @Test func wrongKindOrMissingTensorIsAnErrorNamingIt() throws {
        let missing = try #require(throws: SafeTensorsError.self) { try file.floats("nope") }
        #expect(missing.message.contains("no tensor named 'nope'"))
        let notFloat = try #require(throws: SafeTensorsError.self) { try file.floats("i64") }
        #expect(notFloat.message.contains("tensor 'i64' has dtype I64, not a floating-point type"))
        let notInt = try #require(throws: SafeTensorsError.self) { try file.ints("f16") }
        #expect(notInt.message.contains("tensor 'f16' has dtype F16, not an integer type"))
        #expect(notInt.description.hasPrefix(notInt.file + ": "))
    }
}

import Foundation
import Testing
import SafeTensors

/// A checkpoint exercising the writer: names out of order, one needing JSON escapes and one in Korean,
/// a scalar, an empty tensor, special float values and extreme integers.
private func sampleWriter() throws -> SafeTensorsWriter {
    var writer = SafeTensorsWriter()
    try writer.add("weight", shape: [2, 3], floats: [1, -2.5, 3e-8, .infinity, -0.0, .greatestFiniteMagnitude])
    try writer.add("bias", shape: [3], floats: [Float.nan, .leastNonzeroMagnitude, 0.1])
    try writer.add("position_ids", shape: [1, 4], int64s: [0, 1, -7, Int.max])
    try writer.add("scalar", shape: [], floats: [42])
    try writer.add("empty", shape: [0, 3], floats: [])
    try writer.add("층.\"escaped\"\\name\n", shape: [1], int64s: [Int.min])
    return writer
}

private let sampleFloats: [String: [Float]] = [
    "weight": [1, -2.5, 3e-8, .infinity, -0.0, .greatestFiniteMagnitude],
    "bias": [Float.nan, .leastNonzeroMagnitude, 0.1],
    "scalar": [42],
    "empty": [],
]
private let sampleInts: [String: [Int]] = ["position_ids": [0, 1, -7, Int.max], "층.\"escaped\"\\name\n": [Int.min]]
private let sampleShapes: [String: [Int]] = [
    "weight": [2, 3], "bias": [3], "scalar": [], "empty": [0, 3], "position_ids": [1, 4], "층.\"escaped\"\\name\n": [1],
]

@Suite struct WriterTests {
    /// Writes the sample to a temporary directory (or to $SAFETENSORS_ROUNDTRIP_DIR, kept there so that
    /// `Scripts/make_safetensors_fixtures.py --check` can load it in Python) and reads it back.
    @Test func roundTripReadsBackIdentically() throws {
        let keepDirectory = ProcessInfo.processInfo.environment["SAFETENSORS_ROUNDTRIP_DIR"]
        let directory = keepDirectory.map(URL.init(fileURLWithPath:))
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if keepDirectory == nil { try? FileManager.default.removeItem(at: directory) } }
        let url = directory.appendingPathComponent("swift_written.safetensors")

        let writer = try sampleWriter()
        try writer.write(to: url)
        print("round trip file: \(url.path)")
        #expect(try Data(contentsOf: url) == writer.serialized())

        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.names.map { Array($0.unicodeScalars) } == sampleShapes.keys.sorted().map { Array($0.unicodeScalars) })
        for (name, shape) in sampleShapes {
            #expect(file.info(name)?.shape == shape, "\(name)")
        }
        for (name, values) in sampleFloats.sorted(by: { $0.key < $1.key }) {
            #expect(file.info(name)?.dtype == .F32)
            let (_, mismatches) = compareBits(try file.floats(name), values, label: "round trip \(name)")
            #expect(mismatches == 0, "\(name)")
        }
        for (name, values) in sampleInts {
            #expect(file.info(name)?.dtype == .I64)
            #expect(try file.ints(name) == values, "\(name)")
        }
    }

    @Test func layoutIsPaddedContiguousAndSortedByName() throws {
        let data = try sampleWriter().serialized()
        let split = SplitFile(data)
        let headerBytes = Array(split.header.utf8)
        #expect((8 + headerBytes.count) % 8 == 0, "data section starts at a multiple of 8")
        #expect(headerBytes.first == UInt8(ascii: "{"))
        let padding = headerBytes.reversed().prefix { $0 == UInt8(ascii: " ") }.count
        #expect(padding < 8 && headerBytes[headerBytes.count - padding - 1] == UInt8(ascii: "}"),
                "header ends in '}' followed only by space padding")

        let file = try SafeTensorsFile(data: data)
        var offset = 0
        for name in file.names {
            let info = try #require(file.info(name))
            #expect(info.byteRange.lowerBound == offset, "\(name) follows the previous tensor by name")
            offset = info.byteRange.upperBound
        }
        #expect(offset == split.data.count, "tensors fill the data section")
        #expect(try sampleWriter().serialized() == data, "deterministic output")
    }

    @Test func writeReplacesExistingFileAndLeavesNoTemporary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try Data("old contents".utf8).write(to: url)

        var writer = SafeTensorsWriter(metadata: [:])
        try writer.add("x", shape: [2], floats: [1, 2])
        try writer.write(to: url)

        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata.isEmpty)
        #expect(try file.floats("x") == [1, 2])

        let missingDirectory = directory.appendingPathComponent("no-such-dir/model.safetensors")
        let error = try #require(throws: SafeTensorsError.self) { try writer.write(to: missingDirectory) }
        #expect(error.file == missingDirectory.path)
    }

    @Test func writerRejectsBadTensors() throws {
        var writer = SafeTensorsWriter()
        try writer.add("a", shape: [2], floats: [1, 2])
        let cases: [(String, (inout SafeTensorsWriter) throws -> Void)] = [
            ("tensor 'a': duplicate tensor name", { try $0.add("a", shape: [1], int64s: [1]) }),
            ("tensor 'b': shape [2, 2] needs 4 elements but 3 were given", { try $0.add("b", shape: [2, 2], floats: [1, 2, 3]) }),
            ("tensor 'c': shape [] needs 1 elements but 0 were given", { try $0.add("c", shape: [], int64s: []) }),
            ("tensor 'd': shape [-1] has a negative dimension", { try $0.add("d", shape: [-1], floats: []) }),
            ("too many elements", { try $0.add("e", shape: [Int.max, 2], floats: []) }),
            ("tensor '__metadata__': the name is reserved", { try $0.add("__metadata__", shape: [1], floats: [1]) }),
        ]
        for (message, add) in cases {
            let error = try #require(throws: SafeTensorsError.self) { try add(&writer) }
            #expect(error.message.contains(message), "\(error.message)")
        }
        #expect(try SafeTensorsFile(data: writer.serialized()).names == ["a"], "failed adds change nothing")
    }
}

@Suite struct WriterOrderTests {
    /// `.asAdded` keeps the order of the `add` calls in the data section and `dataAlignment` places
    /// the data section; the file reads back the same as the by-name one.
    @Test func tensorsInTheOrderAddedAndAnAlignedDataSection() throws {
        var writer = SafeTensorsWriter(order: .asAdded, dataAlignment: 4096)
        try writer.add("zeta", shape: [3], floats: [1, 2, 3])
        try writer.add("alpha", shape: [2], floats: [4, 5])
        try writer.add("mid", shape: [1], int64s: [6])
        let file = try SafeTensorsFile(data: writer.serialized())
        #expect(file.dataSectionOffset == 4096)
        #expect(file.info("zeta")?.byteRange == 0..<12)
        #expect(file.info("alpha")?.byteRange == 12..<20)
        #expect(file.info("mid")?.byteRange == 20..<28)
        #expect(try file.floats("alpha") == [4, 5])

        var byName = SafeTensorsWriter()
        try byName.add("zeta", shape: [3], floats: [1, 2, 3])
        try byName.add("alpha", shape: [2], floats: [4, 5])
        let sorted = try SafeTensorsFile(data: byName.serialized())
        #expect(sorted.dataSectionOffset % 8 == 0 && sorted.dataSectionOffset < 4096)
        #expect(sorted.info("alpha")?.byteRange == 0..<8)
    }
}

import Foundation
import SafeTensors
import Testing
import TorchCheckpoint

/// A fixture made by Scripts/make_torch_fixtures.py.
func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!
}

/// Float bit patterns, so that comparisons are exact (NaN, -0).
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Every floating-point tensor of `checkpoint`, under `rename`, equals the reference tensor bit for bit,
/// with the same shape; the checkpoint holds no floating-point tensor the reference lacks.
func expectSame(_ checkpoint: TorchCheckpoint, as reference: SafeTensorsFile,
                rename: (String) -> String = { $0 }) throws {
    let floatNames = checkpoint.names.filter { checkpoint.dtype($0)?.isFloatingPoint == true }
    #expect(floatNames.map(rename).sorted() == reference.names)
    for name in floatNames {
        let key = rename(name)
        let info = try #require(reference.info(key), "reference lacks \(key)")
        #expect(checkpoint.shape(name) == info.shape, "\(name)")
        let loaded = try checkpoint.floats(name)
        let expected = try reference.floats(key)
        #expect(bits(loaded) == bits(expected), "\(name) differs from the reference")
    }
}

@Suite struct LoadTests {
    let reference: SafeTensorsFile

    init() throws { reference = try SafeTensorsFile(contentsOf: fixture("bert.safetensors")) }

    @Test func zipCheckpointIsBitExact() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("pytorch_model.bin"))
        #expect(checkpoint.format == .zip)
        #expect(checkpoint.names.count == 42)
        try expectSame(checkpoint, as: reference)
    }

    @Test func legacyCheckpointIsBitExact() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("bert-legacy.bin"))
        #expect(checkpoint.format == .legacy)
        #expect(checkpoint.names.count == 42)
        try expectSame(checkpoint, as: reference)
    }

    @Test(arguments: ["fp16", "bf16"])
    func halfPrecisionIsWidenedExactly(_ kind: String) throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("bert-\(kind).bin"))
        let halfReference = try SafeTensorsFile(contentsOf: fixture("bert-\(kind).safetensors"))
        #expect(checkpoint.dtype("classifier.weight") == (kind == "fp16" ? .float16 : .bfloat16))
        try expectSame(checkpoint, as: halfReference)
        // And not trivially: the values differ from the float32 ones (they were rounded).
        #expect(bits(try checkpoint.floats("classifier.weight")) != bits(try reference.floats("classifier.weight")))
    }

    @Test func bertModelWithoutPrefix() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("bertmodel-legacy.bin"))
        #expect(!checkpoint.names.contains { $0.hasPrefix("bert.") || $0.hasPrefix("classifier.") })
        let floatNames = checkpoint.names.filter { checkpoint.dtype($0)?.isFloatingPoint == true }
        #expect(floatNames.count == reference.names.count - 2)
        for name in floatNames {
            #expect(bits(try checkpoint.floats(name)) == bits(try reference.floats("bert." + name)), "\(name)")
        }
    }

    @Test func oldStyleLayerNormNames() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("bert-gamma-beta.pt"))
        #expect(checkpoint.names.contains("bert.embeddings.LayerNorm.gamma"))
        #expect(checkpoint.names.contains("bert.encoder.layer.1.output.LayerNorm.beta"))
        try expectSame(checkpoint, as: reference) {
            $0.replacingOccurrences(of: "LayerNorm.gamma", with: "LayerNorm.weight")
                .replacingOccurrences(of: "LayerNorm.beta", with: "LayerNorm.bias")
        }
    }

    @Test(arguments: ["views.bin", "views-legacy.bin", "views-proto4.bin"])
    func sharedStoragesAndStridedViews(_ file: String) throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture(file))
        try expectSame(checkpoint, as: try SafeTensorsFile(contentsOf: fixture("views.safetensors")))
        let base = try #require(checkpoint.info("base"))
        let tied = try #require(checkpoint.info("tied"))
        let transposed = try #require(checkpoint.info("transposed"))
        let slice = try #require(checkpoint.info("slice"))
        // The views really are views into one storage (otherwise this test would prove nothing).
        #expect(Set([base, tied, transposed, slice].map(\.storageKey)).count == 1)
        #expect(transposed.strides == [1, 8])
        #expect(slice.storageOffset == 10 && slice.strides == [8, 1])
        #expect(checkpoint.info("scalar")?.shape == [] && checkpoint.info("scalar")?.storageOffset == 21)
        #expect(checkpoint.info("empty")?.shape == [0, 8])
        #expect(checkpoint.info("half_every_other")?.strides == [2])
        #expect(try checkpoint.floats("empty").isEmpty)
    }

    @Test func integerTensorsAreListedButNotReadAsFloats() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("pytorch_model.bin"))
        let name = "bert.embeddings.position_ids"
        #expect(checkpoint.dtype(name) == .int64)
        #expect(checkpoint.shape(name) == [1, 16])
        let error = #expect(throws: TorchCheckpointError.self) { try checkpoint.floats(name) }
        #expect(error?.description.contains("int64 is not a floating-point type") == true)
        #expect(error?.description.contains(name) == true)
    }

    @Test func copyFloatsChecksNameShapeAndDestination() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("pytorch_model.bin"))
        var buffer = [Float](repeating: 0, count: 7 * 8)
        try buffer.withUnsafeMutableBufferPointer {
            try checkpoint.copyFloats("classifier.weight", into: $0, expectedShape: [7, 8])
        }
        #expect(bits(buffer) == bits(try reference.floats("classifier.weight")))
        let cases: [(String, [Float], [Int]?, String)] = [
            ("nope", buffer, nil, "tensor 'nope': no such tensor"),
            ("classifier.weight", buffer, [8, 7], "expected shape [8, 7], file has shape [7, 8]"),
            ("classifier.weight", [0, 0, 0], nil, "destination holds 3 elements"),
        ]
        for (name, destination, shape, expected) in cases {
            var destination = destination
            let error = #expect(throws: TorchCheckpointError.self) {
                try destination.withUnsafeMutableBufferPointer { try checkpoint.copyFloats(name, into: $0, expectedShape: shape) }
            }
            #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
            #expect(error?.description.contains("pytorch_model.bin") == true)
        }
    }

    @Test(arguments: ["handmade.bin", "handmade-legacy.bin"])
    func handWrittenPickles(_ file: String) throws {
        // The hostile files differ from these in one respect each, so these must load.
        let checkpoint = try TorchCheckpoint(contentsOf: fixture(file))
        #expect(checkpoint.names == ["w"])
        #expect(checkpoint.shape("w") == [3, 4])
        #expect(try checkpoint.floats("w") == (0..<12).map(Float.init))
    }
}

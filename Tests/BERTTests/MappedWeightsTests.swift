import Foundation
import Testing
import SafeTensors
@testable import BERT

/// `WeightStorage.mapped`: a model saved by `BertClassifier.save` is used from the file's pages, and
/// gives exactly what a copied load gives; any other file falls back to copying.
struct MappedWeightsTests {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    func savedTiny() throws -> (BertClassifier, URL) {
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bert-mapped-\(UUID().uuidString)")
        try model.save(directory: dir)
        return (model, dir)
    }

    func bits(_ m: BertClassifier) -> [UInt32] { UnsafeBufferPointer(start: m.weights.base, count: m.weights.count).map(\.bitPattern) }

    @Test func savedFilesAreInLayoutOrderAndPageAligned() throws {
        let (model, dir) = try savedTiny()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        #expect(file.dataSectionOffset % 4096 == 0)
        for entry in model.layout.entries {
            let info = try #require(file.info(entry.name))
            #expect(info.byteRange.lowerBound == entry.offset * 4, "\(entry.name) is not at its layout offset")
        }
    }

    @Test func aMappedModelIsTheFileAndEqualsACopiedOne() throws {
        let (model, dir) = try savedTiny()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (mapped, _) = try BertClassifier.load(directory: dir, storage: .mapped)
        let (copied, _) = try BertClassifier.load(directory: dir, storage: .copy)
        #expect(mapped.weights.viewsFile)
        #expect(!copied.weights.viewsFile)
        #expect(bits(mapped) == bits(model))
        #expect(bits(copied) == bits(model))
        // Same logits, bit for bit.
        let batch = TokenBatch(batchSize: 2, length: 5, tokenIds: [2, 7, 9, 11, 3, 2, 5, 3, 1, 1],
                               segmentIds: [Int32](repeating: 0, count: 10), validLength: [5, 3])
        let runnerA = try BertRunner(model: mapped, maxBatch: 2, maxLength: 5, training: false)
        let runnerB = try BertRunner(model: copied, maxBatch: 2, maxLength: 5, training: false)
        let a = try withExtendedLifetime(runnerA) { Array(try runnerA.forward(batch)) }   // the logits live in the runner
        let b = try withExtendedLifetime(runnerB) { Array(try runnerB.forward(batch)) }
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
    }

    @Test func writingToMappedWeightsLeavesTheFileAlone() throws {
        let (_, dir) = try savedTiny()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let before = try Data(contentsOf: url)
        do {
            let (mapped, _) = try BertClassifier.load(directory: dir, storage: .mapped)
            #expect(mapped.weights.viewsFile)
            mapped.weights.base.update(repeating: 42, count: mapped.weights.count)
        }
        #expect(try Data(contentsOf: url) == before)
    }

    @Test func otherFilesAreCopiedEvenWhenMappingIsAsked() throws {
        // The fixture was written by Python's safetensors: tensors by name, not in the layout's order.
        let (mapped, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"), storage: .mapped)
        let (copied, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        #expect(!mapped.weights.viewsFile)
        #expect(bits(mapped) == bits(copied))
        // A head to initialize: copied, whatever the file.
        let (encoder, report) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny-encoder"),
                                                        numLabels: 3, purpose: .fineTune(seed: 1), storage: .mapped)
        #expect(report.freshHead && !encoder.weights.viewsFile)
    }

    @Test func aNonFiniteValueInAMappedFileIsNamed() throws {
        let (model, dir) = try savedTiny()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        let entry = try #require(model.layout.entry(named: "bert.encoder.layer.1.output.dense.weight"))
        var bytes = try Data(contentsOf: url)
        let at = file.dataSectionOffset + entry.offset * 4 + 4 * 5
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(at..<at + 4, with: $0) }
        try bytes.write(to: url)
        #expect {
            _ = try BertClassifier.load(directory: dir, storage: .mapped)
        } throws: { "\($0)".contains("bert.encoder.layer.1.output.dense.weight") && "\($0)".contains("element 5") }
    }
}

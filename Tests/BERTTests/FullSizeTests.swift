import Foundation
import Testing
import Kernels
import SafeTensors
@testable import BERT

/// By hand, not in CI: a random KoBERT-shaped model (12 x 768) written by
/// `python Scripts/make_bert_fixtures.py --full DIR`, then
/// `KOBERT_FULL_SIZE_DIR=DIR swift test -c release --filter FullSizeTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KOBERT_FULL_SIZE_DIR"] != nil,
                "set KOBERT_FULL_SIZE_DIR to a directory written by make_bert_fixtures.py --full"))
struct FullSizeTests {
    @Test func kobertShapedLogitsMatchPyTorch() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["KOBERT_FULL_SIZE_DIR"]!)
        let (model, report) = try BertClassifier.load(directory: dir)
        #expect(report.unusedKeys.isEmpty)
        let ref = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("reference.safetensors"))
        let (batch, _) = try BertParityTests.batch(ref)
        let runner = try BertRunner(model: model, maxBatch: batch.batchSize, maxLength: batch.length, training: false)
        let logits = try withExtendedLifetime(runner) { Array(try runner.forward(batch)) }
        let d = Discrepancy(logits, try ref.floats("logits"), atol: 1e-6, rtol: 1e-4)
        print("KoBERT-shaped logits (\(batch.batchSize) x \(batch.length) tokens): \(d)")
        #expect(d.withinTolerance, "\(d)")
    }
}

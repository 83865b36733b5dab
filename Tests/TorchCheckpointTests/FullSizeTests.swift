import Foundation
import SafeTensors
import Testing
import TorchCheckpoint

/// An opt-in check on a full-size checkpoint (e.g. KoBERT's pytorch_model.bin, 369 MB): it loads, and if
/// a model.safetensors lies beside it, every float tensor equals it bit for bit.
private let fullSizeCheckpoint = ProcessInfo.processInfo.environment["KOBERT_TORCH_CHECKPOINT"].map(URL.init(fileURLWithPath:))

@Test(.enabled(if: fullSizeCheckpoint != nil, "set KOBERT_TORCH_CHECKPOINT to a pytorch_model.bin (with model.safetensors beside it to compare)"))
func fullSizeCheckpointLoads() throws {
    let url = try #require(fullSizeCheckpoint)
    let start = Date()
    let checkpoint = try TorchCheckpoint(contentsOf: url)
    let opened = Date().timeIntervalSince(start)
    var elements = 0
    let reference = url.deletingLastPathComponent().appendingPathComponent("model.safetensors")
    let safetensors = FileManager.default.fileExists(atPath: reference.path) ? try SafeTensorsFile(contentsOf: reference) : nil
    for name in checkpoint.names where checkpoint.dtype(name)?.isFloatingPoint == true {
        let values = try checkpoint.floats(name)
        elements += values.count
        if let safetensors {
            #expect(bits(values) == bits(try safetensors.floats(name)), "\(name)")
        }
    }
    print("\(url.lastPathComponent): \(checkpoint.names.count) tensors, \(elements) floats; opened in \(opened) s, read in \(Date().timeIntervalSince(start) - opened) s")
    #expect(elements > 0)
}

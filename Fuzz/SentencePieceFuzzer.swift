// libFuzzer entry point for the SentencePiece model reader (protobuf, charsmap, normalizer).
// Built outside the package by Fuzz/run.sh, which compiles this file with the reader's sources.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSentencePiece(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let model = try? SentencePieceModel(data: Data(bytes: data, count: size)) {
        _ = model.encode("오늘 너무 즐거웠어 ㅋㅋ ＡＢＣ 123")
    }
    return 0
}

/// SwiftPM generates `Bundle.module` for the package build; this stand-alone build has no resources.
extension Bundle {
    static var module: Bundle { .main }
}

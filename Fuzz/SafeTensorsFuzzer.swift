// libFuzzer entry point for the safetensors reader (longer runs than the seeded tests in Tests/FuzzTests).
// Built outside the package by Fuzz/run.sh, which compiles this file with the reader's sources.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let file = try? SafeTensorsFile(data: bytes, name: "fuzz") {
        for name in file.names { _ = try? file.floats(name) }
    }
    return 0
}

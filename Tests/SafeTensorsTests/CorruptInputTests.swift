import Foundation
import Testing
import SafeTensors

/// A well-formed file from our writer; every corruption below is derived from it.
private let goodFile: Data = {
    var writer = SafeTensorsWriter()
    try! writer.add("a", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
    try! writer.add("b", shape: [2], int64s: [7, 8])
    return writer.serialized()
}()
private let good = SplitFile(goodFile)

/// The good file with `old` replaced by `new` in its header (the length prefix is recomputed).
private func editedHeader(_ old: String, _ new: String) -> Data {
    precondition(good.header.contains(old), "\(old) not in \(good.header)")
    return assemble(header: good.header.replacingOccurrences(of: old, with: new), data: good.data)
}

/// One way to break a file and a substring the error message must contain.
struct Corruption: Sendable, CustomTestStringConvertible {
    let label: String
    let expected: String
    let file: @Sendable () -> Data
    var testDescription: String { label }
}

private let corruptions: [Corruption] = [
    Corruption(label: "truncated inside the length", expected: "file is 5 bytes, too short") { goodFile.prefix(5) },
    Corruption(label: "empty file", expected: "file is 0 bytes, too short") { Data() },
    Corruption(label: "truncated inside the header", expected: "runs past the end of the") {
        goodFile.prefix(8 + good.header.utf8.count / 2)
    },
    Corruption(label: "truncated inside the data", expected: "tensor 'b': data_offsets [24, 40] extend past the end of the 36-byte data section") {
        goodFile.dropLast(4)
    },
    Corruption(label: "header length larger than file", expected: "runs past the end of the") {
        assemble(header: Array(good.header.utf8), data: good.data, declaredLength: UInt64(goodFile.count))
    },
    Corruption(label: "header length absurd", expected: "do not give a header length of at most 100000000 bytes") {
        assemble(header: Array(good.header.utf8), data: good.data, declaredLength: .max)
    },
    Corruption(label: "header not UTF-8", expected: "header is not valid UTF-8") {
        assemble(header: Array(good.header.utf8.dropLast(2)) + [0xFF, 0xFE], data: good.data)
    },
    Corruption(label: "header not JSON", expected: "header is not valid JSON") { editedHeader(",\"a\":", ",a:") },
    Corruption(label: "header empty", expected: "header is not valid JSON: unexpected end of text") {
        assemble(header: "", data: good.data)
    },
    Corruption(label: "trailing garbage after JSON", expected: "unexpected text after the JSON value") {
        assemble(header: good.header + "x", data: good.data)
    },
    Corruption(label: "header JSON not an object", expected: "header is not a JSON object but an array") {
        assemble(header: "[1, 2]", data: good.data)
    },
    Corruption(label: "deeply nested JSON", expected: "nested more than 64 levels deep") {
        assemble(header: String(repeating: "[", count: 100_000), data: [])
    },
    Corruption(label: "unknown dtype", expected: "tensor 'a': unknown dtype 'F8'") { editedHeader("\"F32\"", "\"F8\"") },
    Corruption(label: "dtype not a string", expected: "tensor 'a': dtype must be a string, found a number") {
        editedHeader("\"F32\"", "32")
    },
    Corruption(label: "negative shape", expected: "tensor 'a': shape entry -2 is negative") { editedHeader("[2,3]", "[-2,3]") },
    Corruption(label: "float shape", expected: "tensor 'a': shape entry 2.0 is not an integer") {
        editedHeader("[2,3]", "[2.0,3]")
    },
    Corruption(label: "shape not an array", expected: "tensor 'a': shape must be an array of integers, found a string") {
        editedHeader("[2,3]", "\"2x3\"")
    },
    Corruption(label: "offsets past end", expected: "tensor 'b': data_offsets [24, 48] extend past the end of the 40-byte data section") {
        editedHeader("[24,40]", "[24,48]")
    },
    Corruption(label: "offsets reversed", expected: "tensor 'b': data_offsets [40, 24] end before they begin") {
        editedHeader("[24,40]", "[40,24]")
    },
    Corruption(label: "offsets too large for Int", expected: "tensor 'b': data_offsets entry 99999999999999999999 is too large") {
        editedHeader("[24,40]", "[24,99999999999999999999]")
    },
    Corruption(label: "three offsets", expected: "tensor 'b': data_offsets must have 2 entries") { editedHeader("[24,40]", "[24,40,40]") },
    Corruption(label: "offsets not matching shape", expected: "tensor 'a': data_offsets [0, 24] span 24 bytes but shape [2, 4] of F32 needs 32 bytes") {
        editedHeader("[2,3]", "[2,4]")
    },
    Corruption(label: "overlapping tensors", expected: "tensors 'a' and 'b' overlap: data_offsets [0, 24] and [16, 32]") {
        editedHeader("[24,40]", "[16,32]")
    },
    Corruption(label: "shape product overflow", expected: "tensor 'a': shape [4294967296, 4294967296] of F32 overflows") {
        editedHeader("[2,3]", "[4294967296,4294967296]")
    },
    Corruption(label: "byte size overflow", expected: "tensor 'a': shape [4611686018427387904] of F32 overflows") {
        editedHeader("[2,3]", "[4611686018427387904]")
    },
    Corruption(label: "duplicate tensor name", expected: "duplicate tensor name 'a'") {
        editedHeader("\"b\":{", "\"a\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]},\"b\":{")
    },
    Corruption(label: "duplicate key in an entry", expected: "tensor 'a': duplicate key 'shape'") {
        editedHeader("\"shape\":[2,3]", "\"shape\":[2,3],\"shape\":[2,3]")
    },
    Corruption(label: "unknown key in an entry", expected: "tensor 'a': unknown key 'offset'") {
        editedHeader("\"shape\":[2,3]", "\"shape\":[2,3],\"offset\":0")
    },
    Corruption(label: "missing key in an entry", expected: "tensor 'b': missing key 'data_offsets'") {
        editedHeader(",\"data_offsets\":[24,40]", "")
    },
    Corruption(label: "entry not an object", expected: "tensor 'a': entry must be an object, found an array") {
        assemble(header: #"{"a":[1]}"#, data: [])
    },
    Corruption(label: "metadata value not a string", expected: "__metadata__ value for 'format' must be a string, found a number") {
        editedHeader("\"pt\"", "1")
    },
    Corruption(label: "metadata not an object", expected: "__metadata__ must be an object of strings, found a string") {
        editedHeader("{\"format\":\"pt\"}", "\"pt\"")
    },
    Corruption(label: "lone surrogate in a name", expected: "unpaired surrogate in string") { editedHeader("\"a\"", "\"\\ud800\"") },
]

@Test(arguments: corruptions)
func corruptFileIsRejected(_ corruption: Corruption) throws {
    let error = try #require(throws: SafeTensorsError.self) {
        try SafeTensorsFile(data: corruption.file(), name: "corrupt.safetensors")
    }
    #expect(error.file == "corrupt.safetensors")
    #expect(error.message.contains(corruption.expected), "message: \(error.message)")
}

@Test func goodFileIsAccepted() throws {
    let file = try SafeTensorsFile(data: goodFile)
    #expect(file.names == ["a", "b"])
    #expect(try file.ints("b") == [7, 8])
}

@Test func unreadableFileIsAnErrorNamingIt() throws {
    let url = URL(fileURLWithPath: "/nonexistent/model.safetensors")
    let error = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: url) }
    #expect(error.file == url.path)
    #expect(error.message.contains("cannot read file"))
}

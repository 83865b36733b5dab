import Foundation
import Testing
import SafeTensors

@Suite struct DecodingTests {
    #if !(os(macOS) && arch(x86_64))
    /// Every F16 bit pattern against the standard library's `Float16` conversion (the reference).
    @Test func everyHalfPatternConvertsLikeFloat16() throws {
        let patterns = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let data = assemble(header: #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#, data: patterns)
        let actual = try SafeTensorsFile(data: data).floats("h")
        let reference = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }
        let (_, mismatches) = compareBits(actual, reference, label: "all F16 patterns")
        #expect(mismatches == 0)
    }
    #endif

    /// Data handed over at an odd address: every multi-byte element is misaligned.
    @Test func misalignedDataIsReadCorrectly() throws {
        var writer = SafeTensorsWriter()
        let floats: [Float] = [1.5, -2, 3.25, 1e-30, 7]
        try writer.add("f", shape: [5], floats: floats)
        try writer.add("i", shape: [3], int64s: [Int.min, -1, 1 << 40])
        var shifted = Data([0xAA])
        shifted.append(writer.serialized())
        let file = try SafeTensorsFile(data: shifted[1...])
        let (_, mismatches) = compareBits(try file.floats("f"), floats, label: "misaligned F32")
        #expect(mismatches == 0)
        #expect(try file.ints("i") == [Int.min, -1, 1 << 40])
    }

    /// F64 rounds to the nearest Float; BF16 is the top half of a Float; BOOL reads as 0/1.
    @Test func otherTypesConvert() throws {
        let doubles: [Double] = [1.0 / 3.0, -1e300, 5e-46, 0.1]
        let bf16: [UInt16] = [0x3F80, 0xC049, 0x7F80, 0x0001]  // 1, -3.140625, inf, smallest subnormal
        var data: [UInt8] = doubles.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        data += bf16.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        data += [0, 1, 2]
        let header = #"{"d":{"dtype":"F64","shape":[4],"data_offsets":[0,32]},"# +
            #""b":{"dtype":"BF16","shape":[2,2],"data_offsets":[32,40]},"# +
            #""t":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}}"#
        let file = try SafeTensorsFile(data: assemble(header: header, data: data))
        var (_, mismatches) = compareBits(try file.floats("d"), doubles.map { Float($0) }, label: "F64")
        #expect(mismatches == 0)
        (_, mismatches) = compareBits(try file.floats("b"), [1, -3.140625, .infinity, Float(bitPattern: 0x0001_0000)], label: "BF16")
        #expect(mismatches == 0)
        #expect(try file.ints("t") == [0, 1, 1])
    }
}

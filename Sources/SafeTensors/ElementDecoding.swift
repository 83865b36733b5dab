/// Conversion of little-endian tensor bytes into `Float` and `Int` buffers.
///
/// Source bytes may sit at any address (a memory-mapped file only guarantees what the writer padded), so
/// multi-byte elements are read with `loadUnaligned`. F32 on a little-endian host is a plain memory copy.
package enum ElementDecoding {
    /// Fills `destination` from `source`, which holds exactly `destination.count` elements of `dtype`.
    /// - Precondition: `dtype.isFloatingPoint`.
    static func decodeFloats(_ source: UnsafeRawBufferPointer, as dtype: SafeTensorsDType,
                             into destination: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .F32:
            #if _endian(little)
            UnsafeMutableRawBufferPointer(destination).copyMemory(from: source)
            #else
            convert(source, into: destination) { Float(bitPattern: $0 as UInt32) }
            #endif
        case .F16: convert(source, into: destination) { halfToFloat($0) }
        case .BF16: convert(source, into: destination) { Float(bitPattern: UInt32($0 as UInt16) << 16) }
        case .F64: convert(source, into: destination) { Float(Double(bitPattern: $0 as UInt64)) }
        case .I64, .I32, .I16, .I8, .U8, .BOOL: preconditionFailure("\(dtype) is not a floating-point type")
        }
    }

    /// Fills `destination` from `source`, which holds exactly `destination.count` elements of `dtype`.
    /// BOOL elements become 0 or 1.
    /// - Precondition: `!dtype.isFloatingPoint`.
    static func decodeInts(_ source: UnsafeRawBufferPointer, as dtype: SafeTensorsDType,
                           into destination: UnsafeMutableBufferPointer<Int>) {
        switch dtype {
        case .I64: convert(source, into: destination) { Int(Int64(bitPattern: $0 as UInt64)) }
        case .I32: convert(source, into: destination) { Int(Int32(bitPattern: $0 as UInt32)) }
        case .I16: convert(source, into: destination) { Int(Int16(bitPattern: $0 as UInt16)) }
        case .I8: convert(source, into: destination) { Int(Int8(bitPattern: $0 as UInt8)) }
        case .U8: convert(source, into: destination) { Int($0 as UInt8) }
        case .BOOL: convert(source, into: destination) { ($0 as UInt8) == 0 ? 0 : 1 }
        case .F64, .F32, .F16, .BF16: preconditionFailure("\(dtype) is not an integer type")
        }
    }

    /// Reads little-endian `Bits` element by element and maps each through `transform`.
    @inline(__always)
    private static func convert<Bits: FixedWidthInteger, Element>(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Element>,
        _ transform: (Bits) -> Element
    ) {
        precondition(source.count == destination.count * MemoryLayout<Bits>.size)
        for index in destination.indices {
            let bits = source.loadUnaligned(fromByteOffset: index * MemoryLayout<Bits>.size, as: Bits.self)
            destination[index] = transform(Bits(littleEndian: bits))
        }
    }

    /// IEEE 754 binary16 to binary32, exact for every input (NaN payloads are kept).
    ///
    /// Written out rather than using `Float16`, which is unavailable on Intel Macs.
    package static func halfToFloat(_ half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32(half >> 10) & 0x1F
        let mantissa = UInt32(half & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exactly representable in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            // Infinity or NaN.
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            // Normal: rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}

import SafeTensors

/// Copies a strided view of little-endian storage elements into a row-major `Float` buffer.
enum StridedCopy {
    /// - Precondition (checked when the checkpoint was opened): every index `offset + Σ i_d * strides[d]`
    ///   with `0 <= i_d < shape[d]` addresses an element inside `storage`; `destination.count` is the
    ///   product of `shape`; `dtype.isFloatingPoint`.
    static func copy(from storage: UnsafeRawBufferPointer, dtype: TorchDType, offset: Int, shape: [Int],
                     strides: [Int], into destination: UnsafeMutableBufferPointer<Float>) {
        guard destination.count > 0 else { return }
        #if _endian(little)
        if dtype == .float32, isRowMajor(shape: shape, strides: strides) {
            // Contiguous float32 (the common case): one copy of the bytes.
            let start = offset * 4
            UnsafeMutableRawBufferPointer(destination).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: storage[start..<start + destination.count * 4]))
            return
        }
        #endif
        switch dtype {
        case .float32: gather(storage, offset, shape, strides, destination) { Float(bitPattern: $0 as UInt32) }
        case .float16: gather(storage, offset, shape, strides, destination) { ElementDecoding.halfToFloat($0 as UInt16) }
        case .bfloat16: gather(storage, offset, shape, strides, destination) { Float(bitPattern: UInt32($0 as UInt16) << 16) }
        case .float64: gather(storage, offset, shape, strides, destination) { Float(Double(bitPattern: $0 as UInt64)) }
        case .int64, .int32, .int16, .int8, .uint8, .bool: break
        }
    }

    /// Whether the strides are those of a contiguous row-major layout (size-1 dimensions have stride 0).
    static func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1 && stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// Walks the view in row-major order: an odometer over all dimensions but the last, and a strided
    /// run along the last one. Not recursive.
    @inline(__always)
    private static func gather<Bits: FixedWidthInteger>(
        _ storage: UnsafeRawBufferPointer, _ offset: Int, _ shape: [Int], _ strides: [Int],
        _ destination: UnsafeMutableBufferPointer<Float>, _ transform: (Bits) -> Float
    ) {
        let size = MemoryLayout<Bits>.size
        func element(_ index: Int) -> Float {
            transform(Bits(littleEndian: storage.loadUnaligned(fromByteOffset: index * size, as: Bits.self)))
        }
        guard let innerSize = shape.last, let innerStride = strides.last else {
            destination[0] = element(offset)  // a scalar
            return
        }
        let outer = shape.count - 1
        var counters = [Int](repeating: 0, count: outer)
        var base = offset
        var written = 0
        while written < destination.count {
            var index = base
            for _ in 0..<innerSize {
                destination[written] = element(index)
                written += 1
                index += innerStride
            }
            // Advance the odometer over the outer dimensions, last fastest.
            var dimension = outer - 1
            while dimension >= 0 {
                counters[dimension] += 1
                base += strides[dimension]
                if counters[dimension] < shape[dimension] { break }
                base -= strides[dimension] * shape[dimension]
                counters[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { break }
        }
    }
}

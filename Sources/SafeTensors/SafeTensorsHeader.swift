/// The validated header of a safetensors file: metadata and the location of every tensor.
///
/// Layout of the format: 8 bytes little-endian header length `N`, `N` bytes of UTF-8 JSON, then the data
/// section. The JSON object maps each tensor name to `{"dtype", "shape", "data_offsets"}`, where
/// `data_offsets` is `[begin, end]` relative to the start of the data section; the optional key
/// `__metadata__` maps to an object of string values.
struct SafeTensorsHeader {
    /// Largest header accepted, as in the reference implementation.
    static let maxHeaderLength = 100_000_000
    static let metadataKey = "__metadata__"
    private static let entryKeys: Set<String> = ["dtype", "shape", "data_offsets"]

    let metadata: [String: String]
    let tensors: [String: TensorInfo]

    /// Validates `json`, the header text, against a data section of `dataSize` bytes.
    /// `fail` turns a message into the error to throw, naming the file.
    init(json: [UInt8], dataSize: Int, fail: (String) -> SafeTensorsError) throws(SafeTensorsError) {
        guard String(validating: json, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        let root: JSONValue
        do {
            root = try JSONParser.parse(json)
        } catch {
            throw fail("header is not valid JSON: \(error.message) at byte \(error.offset) of the header")
        }
        guard case .object(let members) = root else {
            throw fail("header is not a JSON object but \(root.kind)")
        }

        var metadata: [String: String]?
        var tensors: [String: TensorInfo] = [:]
        for (key, value) in members {
            if key == Self.metadataKey {
                guard metadata == nil else { throw fail("duplicate key \(Self.metadataKey)") }
                metadata = try Self.metadata(value, fail: fail)
            } else {
                guard tensors[key] == nil else { throw fail("duplicate tensor name '\(key)'") }
                tensors[key] = try Self.tensor(key, value, dataSize: dataSize) { fail("tensor '\(key)': \($0)") }
            }
        }
        try Self.checkNoOverlap(tensors.values, fail: fail)
        self.metadata = metadata ?? [:]
        self.tensors = tensors
    }

    private static func metadata(_ value: JSONValue, fail: (String) -> SafeTensorsError) throws(SafeTensorsError) -> [String: String] {
        guard case .object(let members) = value else {
            throw fail("\(metadataKey) must be an object of strings, found \(value.kind)")
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw fail("\(metadataKey) value for '\(key)' must be a string, found \(value.kind)")
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw fail("duplicate key '\(key)' in \(metadataKey)")
            }
        }
        return metadata
    }

    /// Validates one tensor entry. `fail` prefixes messages with the tensor name.
    private static func tensor(_ name: String, _ value: JSONValue, dataSize: Int,
                               fail: (String) -> SafeTensorsError) throws(SafeTensorsError) -> TensorInfo {
        guard case .object(let members) = value else { throw fail("entry must be an object, found \(value.kind)") }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard entryKeys.contains(key) else { throw fail("unknown key '\(key)'") }
            guard fields.updateValue(value, forKey: key) == nil else { throw fail("duplicate key '\(key)'") }
        }
        guard let dtypeValue = fields["dtype"] else { throw fail("missing key 'dtype'") }
        guard let shapeValue = fields["shape"] else { throw fail("missing key 'shape'") }
        guard let offsetsValue = fields["data_offsets"] else { throw fail("missing key 'data_offsets'") }

        guard case .string(let dtypeName) = dtypeValue else { throw fail("dtype must be a string, found \(dtypeValue.kind)") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw fail("unknown dtype '\(dtypeName)'") }

        let shape = try integers(shapeValue, what: "shape", fail: fail)
        let offsets = try integers(offsetsValue, what: "data_offsets", fail: fail)
        guard offsets.count == 2 else { throw fail("data_offsets must have 2 entries [begin, end], found \(offsets.count)") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw fail("data_offsets [\(begin), \(end)] end before they begin") }
        guard end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] extend past the end of the \(dataSize)-byte data section")
        }
        guard let byteCount = Shape.byteCount(shape, dtype) else {
            throw fail("shape \(Shape.text(shape)) of \(dtype.rawValue) overflows: too many elements")
        }
        guard end - begin == byteCount else {
            throw fail("data_offsets [\(begin), \(end)] span \(end - begin) bytes but shape \(Shape.text(shape)) of \(dtype.rawValue) needs \(byteCount) bytes")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// Reads an array of non-negative integers; `what` names the field in messages.
    private static func integers(_ value: JSONValue, what: String,
                                 fail: (String) -> SafeTensorsError) throws(SafeTensorsError) -> [Int] {
        guard case .array(let elements) = value else {
            throw fail("\(what) must be an array of integers, found \(value.kind)")
        }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .number(let text) = element else {
                throw fail("\(what) must be an array of integers, found \(element.kind) in it")
            }
            guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
                throw fail("\(what) entry \(text) is not an integer")
            }
            guard !text.hasPrefix("-") else { throw fail("\(what) entry \(text) is negative") }
            guard let integer = Int(text) else { throw fail("\(what) entry \(text) is too large") }
            result.append(integer)
        }
        return result
    }

    /// Throws if any two tensors share a byte. Empty tensors occupy no bytes and never overlap.
    private static func checkNoOverlap(_ tensors: some Sequence<TensorInfo>,
                                       fail: (String) -> SafeTensorsError) throws(SafeTensorsError) {
        let occupied = tensors.filter { !$0.byteRange.isEmpty }.sorted {
            ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name)
        }
        for (previous, next) in zip(occupied, occupied.dropFirst())
        where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw fail("tensors '\(previous.name)' and '\(next.name)' overlap: data_offsets \(range(previous.byteRange)) and \(range(next.byteRange))")
        }
    }

    private static func range(_ range: Range<Int>) -> String { "[\(range.lowerBound), \(range.upperBound)]" }
}

import FileSafety
import Foundation

// A restricted unpickler for PyTorch state dicts, in the spirit of `torch.load(weights_only=True)`
// (PyTorch's `torch/_weights_only_unpickler.py`), written from the pickle format, not translated.
//
// Nothing in the input is ever executed or looked up by name: a GLOBAL resolves only to one of the
// `AllowedGlobal` cases below, REDUCE only "calls" the few of them that build a state dict (by running
// Swift code of ours that checks the arguments), BUILD only accepts the states a state dict carries,
// and a persistent id only names a storage record. Everything else is refused with an error naming the
// opcode or global and its byte offset.
//
// Bounds: the value stack, the MARK stack and the memo have fixed size limits; a container's nesting
// depth is tracked when it is inserted into another one and capped, and containers can no longer be
// changed once they are inside another container or a tuple, so no cycle can form and dropping a
// value never recurses deeper than the cap. Lengths are checked against the bytes left before
// anything is allocated. The parser itself is a loop, never recursive.

/// The element type of a storage, from its pickled storage class (`torch.FloatStorage`, ...).
public enum TorchDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether `TorchCheckpoint.copyFloats` reads this type (converted to `Float`).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        case .int64, .int32, .int16, .int8, .uint8, .bool: false
        }
    }
}

/// The globals a state dict needs. Any other `module.name` is refused at the GLOBAL opcode.
enum AllowedGlobal: Equatable {
    /// `collections.OrderedDict`: the state dict itself and its `_metadata`; REDUCE with `()` makes an
    /// empty ordered dict, BUILD on it takes a dict of attributes (`_metadata`), which is read and dropped.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`:
    /// a tensor view into a storage. REDUCE checks every argument and records the view; hooks and
    /// metadata must be empty.
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`: an `nn.Parameter` around a
    /// tensor; it loads as the tensor.
    case rebuildParameter
    /// `torch.device`: REDUCE with `("cpu",)` or `("cuda", 0)` and the like gives an inert device value.
    case device
    /// `torch.FloatStorage`, `torch.HalfStorage`, ...: only a tag inside a storage persistent id, never
    /// called. Floating-point ones can be read as floats; integer ones load (their shapes are listed)
    /// but `copyFloats` refuses them.
    case storageType(TorchDType)

    /// The allowed globals by their pickled `module.name`.
    static func named(_ fullName: String) -> AllowedGlobal? {
        switch fullName {
        case "collections.OrderedDict": .orderedDict
        case "torch._utils._rebuild_tensor_v2": .rebuildTensorV2
        case "torch._utils._rebuild_parameter": .rebuildParameter
        case "torch.device": .device
        case "torch.FloatStorage": .storageType(.float32)
        case "torch.HalfStorage": .storageType(.float16)
        case "torch.BFloat16Storage": .storageType(.bfloat16)
        case "torch.DoubleStorage": .storageType(.float64)
        case "torch.LongStorage": .storageType(.int64)
        case "torch.IntStorage": .storageType(.int32)
        case "torch.ShortStorage": .storageType(.int16)
        case "torch.CharStorage": .storageType(.int8)
        case "torch.ByteStorage": .storageType(.uint8)
        case "torch.BoolStorage": .storageType(.bool)
        default: nil
        }
    }

    var name: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .device: "torch.device"
        case .storageType(let dtype): "storage type \(dtype.rawValue)"
        }
    }
}

/// A storage named by a persistent id: the record `key` holding `count` elements of `dtype`.
struct StorageReference: Equatable {
    let key: String
    let dtype: TorchDType
    let count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage.
struct TensorView {
    let storage: StorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// A mutable list; frozen (no more APPEND) once it is inside another container.
final class PickleList {
    var items: [PickleValue] = []
    var frozen = false
    var depth = 1
}

/// A mutable dict keyed by strings or integers, in insertion order; frozen once inside another container.
final class PickleDict {
    enum Key: Hashable { case string(String), int(Int) }
    let ordered: Bool
    private(set) var keys: [Key] = []
    private(set) var values: [Key: PickleValue] = [:]
    var frozen = false
    var depth = 1

    init(ordered: Bool) { self.ordered = ordered }

    var count: Int { keys.count }

    func set(_ key: Key, _ value: PickleValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    var entries: [(Key, PickleValue)] { keys.compactMap { key in values[key].map { (key, $0) } } }
}

/// A value on the unpickler's stack.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int`: its little-endian two's-complement bytes (LONG1).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    case global(AllowedGlobal)
    case storage(StorageReference)
    case tensor(TensorView)
    case device(String)

    /// Nesting depth: 0 for scalars, 1 + the deepest element for containers.
    var depth: Int {
        switch self {
        case .tuple(_, let depth): depth
        case .list(let list): list.depth
        case .dict(let dict): dict.depth
        default: 0
        }
    }

    /// A short description of the kind of value, for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .tuple: "tuple"
        case .list: "list"
        case .dict(let dict): dict.ordered ? "OrderedDict" : "dict"
        case .global(let global): global.name
        case .storage: "storage"
        case .tensor: "tensor"
        case .device: "torch.device"
        }
    }

    /// Marks a container as part of another one: it can no longer change.
    func freeze() {
        switch self {
        case .list(let list): list.frozen = true
        case .dict(let dict): dict.frozen = true
        default: break
        }
    }
}

/// Which persistent-id layout a pickle uses.
enum PersistentIDLayout {
    /// Zip checkpoints: `('storage', storage_type, key, location, numel)`.
    case zip
    /// Legacy checkpoints: `('storage', storage_type, key, location, numel, view_metadata)`, view_metadata None.
    case legacy
}

/// Limits of the unpickler. The defaults are far above what a state dict needs.
struct UnpicklerLimits {
    var maxStack = 1 << 20
    var maxMarks = 1024
    var maxMemo = 1 << 20
    var maxDepth = 64
    var maxDimensions = 32
    var maxGlobalLineLength = 256
    /// Longest dict key or storage key, in UTF-8 bytes (a state dict's keys are tensor names of a few
    /// hundred bytes at most).
    var maxKeyBytes = 4096
    /// Bytes of keys that may be hashed in all: this many, or 16 per byte of input if that is more, so
    /// that a key set again and again (one memoized key, SETITEM after SETITEM) costs at most linear time.
    var minKeyBytesHashed = 64 << 20
    var keyBytesHashedPerInputByte = 16
}

/// Runs one pickle from `bytes[start...]` up to its STOP, under the rules above.
struct Unpickler {
    /// The error raised for every refusal: the byte offset (relative to `bytes`' start as the caller
    /// reports it) and the opcode being run.
    struct Failure: Error {
        enum Kind { case malformed, forbiddenGlobal(String), forbidden, limit }
        let kind: Kind
        let offset: Int
        let opcode: String
        let message: String
    }

    let bytes: UnsafeRawBufferPointer
    let layout: PersistentIDLayout
    var limits = UnpicklerLimits()
    /// Storages named so far, by key; the same key must always carry the same type and size.
    private(set) var storages: [String: StorageReference] = [:]
    /// Offset just past the STOP opcode after `run()`.
    private(set) var position: Int

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [UInt32: PickleValue] = [:]
    private var opcodeStart = 0
    private var opcodeName = ""
    /// Bytes of dict and storage keys hashed so far, against `keyHashBudget`.
    private var keyBytesHashed = 0

    init(bytes: UnsafeRawBufferPointer, start: Int = 0, layout: PersistentIDLayout) {
        self.bytes = bytes
        self.layout = layout
        self.position = start
    }

    /// Bytes of keys this input may have hashed (see `UnpicklerLimits.minKeyBytesHashed`).
    private var keyHashBudget: Int {
        let (scaled, overflow) = bytes.count.multipliedReportingOverflow(by: limits.keyBytesHashedPerInputByte)
        return overflow ? Int.max : max(limits.minKeyBytesHashed, scaled)
    }

    // MARK: Errors

    private func fail(_ message: String) -> Failure {
        Failure(kind: .malformed, offset: opcodeStart, opcode: opcodeName, message: message)
    }

    private func forbid(_ message: String) -> Failure {
        Failure(kind: .forbidden, offset: opcodeStart, opcode: opcodeName, message: message)
    }

    private func limit(_ message: String) -> Failure {
        Failure(kind: .limit, offset: opcodeStart, opcode: opcodeName, message: message)
    }

    // MARK: Reading bytes

    private var remaining: Int { bytes.count - position }

    private mutating func readByte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("unexpected end of data (truncated?)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw fail("needs \(count) bytes but only \(remaining) remain (truncated or forged length?)")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    private mutating func readUInt<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws -> T {
        let raw = try readBytes(MemoryLayout<T>.size)
        var value: T = 0
        for (index, byte) in raw.enumerated() { value |= T(byte) << (8 * index) }
        return value
    }

    private mutating func readString(_ count: Int) throws -> String {
        let raw = try readBytes(count)
        guard let string = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return string
    }

    /// A GLOBAL operand line, up to its newline, ASCII-only and of bounded length.
    private mutating func readLine() throws -> String {
        let end = min(bytes.count, position + limits.maxGlobalLineLength + 1)
        var index = position
        while index < end && bytes[index] != 0x0A { index += 1 }
        guard index < end else { throw fail("GLOBAL name is not terminated by a newline within \(limits.maxGlobalLineLength) bytes") }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[position..<index])
        guard raw.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw fail("GLOBAL name is not printable ASCII") }
        position = index + 1
        return String(decoding: raw, as: UTF8.self)
    }

    /// STACK_GLOBAL's module and name: GLOBAL's limits (bounded length, printable ASCII).
    private func checkGlobalPart(_ text: String, _ what: String) throws {
        guard text.utf8.count <= limits.maxGlobalLineLength else {
            throw fail("STACK_GLOBAL \(what) is longer than \(limits.maxGlobalLineLength) bytes")
        }
        guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw fail("STACK_GLOBAL \(what) is not printable ASCII") }
    }

    // MARK: Stack

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw limit("stack holds more than \(limits.maxStack) values") }
        stack.append(value)
    }

    private var floor: Int { marks.last ?? 0 }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > floor else { throw fail("stack underflow") }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard stack.count > floor, let value = stack.last else { throw fail("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    /// Depth of a container holding `items`, checked against the cap; freezes the items.
    private func containerDepth(_ items: [PickleValue], current: Int = 1) throws -> Int {
        var depth = current
        for item in items {
            item.freeze()
            depth = max(depth, item.depth + 1)
        }
        guard depth <= limits.maxDepth else { throw limit("values nested more than \(limits.maxDepth) deep") }
        return depth
    }

    // MARK: Running

    /// Runs to STOP and returns the pickled object.
    mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = position
            let code = try readByte()
            opcodeName = Self.opcodeName(code)
            switch code {
            case 0x80: // PROTO
                let version = try readByte()
                guard (2...5).contains(version) else { throw fail("pickle protocol \(version) is not supported (2 to 5 are)") }
            case 0x95: // FRAME: a length hint; the bytes follow inline
                let length = try readUInt(UInt64.self)
                guard length <= UInt64(remaining) else { throw fail("frame of \(length) bytes, only \(remaining) remain") }
            case 0x2E: // STOP
                let result = try pop()
                guard marks.isEmpty else { throw fail("MARK left open at STOP") }
                return result
            case 0x28: // MARK
                guard marks.count < limits.maxMarks else { throw limit("more than \(limits.maxMarks) nested MARKs") }
                marks.append(stack.count)
            case 0x29: try push(.tuple([], depth: 1)) // EMPTY_TUPLE
            case 0x5D: try push(.list(PickleList())) // EMPTY_LIST
            case 0x7D: try push(.dict(PickleDict(ordered: false))) // EMPTY_DICT
            case 0x4E: try push(.none) // NONE
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4A: try push(.int(Int(Int32(bitPattern: try readUInt(UInt32.self))))) // BININT
            case 0x4B: try push(.int(Int(try readByte()))) // BININT1
            case 0x4D: try push(.int(Int(try readUInt(UInt16.self)))) // BININT2
            case 0x8A: // LONG1
                let count = Int(try readByte())
                let raw = Array(try readBytes(count))
                try push(Self.long(raw))
            case 0x47: // BINFLOAT (big-endian)
                let raw = try readBytes(8)
                var bits: UInt64 = 0
                for byte in raw { bits = bits << 8 | UInt64(byte) }
                try push(.float(Double(bitPattern: bits)))
            case 0x8C: try push(.string(try readString(Int(try readByte())))) // SHORT_BINUNICODE
            case 0x58: try push(.string(try readString(Int(try readUInt(UInt32.self))))) // BINUNICODE
            case 0x8D: // BINUNICODE8
                let length = try readUInt(UInt64.self)
                guard length <= UInt64(remaining) else { throw fail("string of \(length) bytes, only \(remaining) remain") }
                try push(.string(try readString(Int(length))))
            case 0x71: try put(UInt32(try readByte())) // BINPUT
            case 0x72: try put(try readUInt(UInt32.self)) // LONG_BINPUT
            case 0x94: // MEMOIZE
                guard memo.count <= UInt32.max else { throw limit("memo full") }
                try put(UInt32(memo.count))
            case 0x68: try get(UInt32(try readByte())) // BINGET
            case 0x6A: try get(try readUInt(UInt32.self)) // LONG_BINGET
            case 0x85: // TUPLE1
                let a = try pop()
                try push(.tuple([a], depth: try containerDepth([a])))
            case 0x86: // TUPLE2
                let b = try pop(), a = try pop()
                try push(.tuple([a, b], depth: try containerDepth([a, b])))
            case 0x87: // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(.tuple([a, b, c], depth: try containerDepth([a, b, c])))
            case 0x74: // TUPLE
                let items = try popMark()
                try push(.tuple(items, depth: try containerDepth(items)))
            case 0x61: // APPEND
                let item = try pop()
                try append([item])
            case 0x65: // APPENDS
                let items = try popMark()
                try append(items)
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case 0x75: // SETITEMS
                let items = try popMark()
                try setItems(items)
            case 0x63: // GLOBAL
                let module = try readLine()
                let name = try readLine()
                try pushGlobal(module + "." + name)
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let nameText) = name, case .string(let moduleText) = module else {
                    throw fail("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
                }
                try checkGlobalPart(moduleText, "module")
                try checkGlobalPart(nameText, "name")
                try pushGlobal(moduleText + "." + nameText)
            case 0x52: // REDUCE
                let arguments = try pop()
                let callable = try pop()
                try push(try reduce(callable, arguments))
            case 0x62: // BUILD
                let state = try pop()
                let instance = try top()
                try build(instance, state)
            case 0x51: // BINPERSID
                let id = try pop()
                try push(.storage(try persistentLoad(id)))
            default:
                throw forbid("opcode is not allowed in a state dict")
            }
        }
    }

    /// LONG1's little-endian two's-complement bytes as an `Int` when it fits, else kept as bytes.
    private static func long(_ raw: [UInt8]) -> PickleValue {
        guard !raw.isEmpty else { return .int(0) }
        guard raw.count <= 8 else { return .bigInt(raw) }
        var bits: UInt64 = 0
        for (index, byte) in raw.enumerated() { bits |= UInt64(byte) << (8 * index) }
        if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 { bits |= UInt64.max << (8 * raw.count) }
        return .int(Int(Int64(bitPattern: bits)))
    }

    private mutating func put(_ index: UInt32) throws {
        let value = try top()
        guard memo.count < limits.maxMemo || memo[index] != nil else { throw limit("memo holds more than \(limits.maxMemo) values") }
        memo[index] = value
    }

    private mutating func get(_ index: UInt32) throws {
        guard let value = memo[index] else { throw fail("memo index \(index) was never stored") }
        try push(value)
    }

    private mutating func pushGlobal(_ fullName: String) throws {
        guard let global = AllowedGlobal.named(fullName) else {
            throw Failure(kind: .forbiddenGlobal(fullName), offset: opcodeStart, opcode: opcodeName,
                          message: "global '\(untrustedText(fullName))' is not allowed: a state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.device and torch.<Type>Storage")
        }
        try push(.global(global))
    }

    private func append(_ items: [PickleValue]) throws {
        let target = try top()
        guard case .list(let list) = target else { throw forbid("APPEND to a \(target.kind); only lists can be appended to") }
        guard !list.frozen else { throw forbid("APPEND to a list that is already inside another container") }
        let depth = try containerDepth(items, current: list.depth)
        guard !list.frozen else { throw forbid("a list cannot contain itself") }
        list.items.append(contentsOf: items)
        list.depth = depth
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        let target = try top()
        guard case .dict(let dict) = target else { throw forbid("SETITEM on a \(target.kind); only dicts take items") }
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
        guard !dict.frozen else { throw forbid("SETITEM on a dict that is already inside another container") }
        let depth = try containerDepth(items, current: dict.depth)
        guard !dict.frozen else { throw forbid("a dict cannot contain itself") }
        for index in stride(from: 0, to: items.count, by: 2) {
            let key: PickleDict.Key
            switch items[index] {
            case .string(let string):
                try chargeKey(string, what: "dict key")
                key = .string(string)
            case .int(let int): key = .int(int)
            default: throw forbid("dict key of type \(items[index].kind); only str and int keys are supported")
            }
            dict.set(key, items[index + 1])
        }
        dict.depth = depth
    }

    /// Checks a key's length and counts it against the hashing budget, before it is hashed.
    private mutating func chargeKey(_ key: String, what: String) throws {
        let length = key.utf8.count
        guard length <= limits.maxKeyBytes else {
            throw limit("\(what) of \(length) bytes; keys are limited to \(limits.maxKeyBytes) bytes (tensor names are far shorter)")
        }
        let (total, overflow) = keyBytesHashed.addingReportingOverflow(length)
        guard !overflow, total <= keyHashBudget else {
            throw limit("more than \(keyHashBudget) bytes of dict and storage keys hashed (the same keys set again and again?)")
        }
        keyBytesHashed = total
    }

    /// REDUCE: only the allowed callables, each checking its own arguments.
    private func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let global) = callable else { throw forbid("REDUCE on a \(callable.kind), which is not callable here") }
        guard case .tuple(let args, _) = arguments else { throw fail("REDUCE arguments are a \(arguments.kind), not a tuple") }
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw forbid("collections.OrderedDict called with \(args.count) arguments; only () is supported") }
            return .dict(PickleDict(ordered: true))
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(args))
        case .rebuildParameter:
            guard args.count == 3, case .tensor(let tensor) = args[0], case .bool = args[1] else {
                throw fail("torch._utils._rebuild_parameter expects (tensor, bool, OrderedDict), got (\(args.map(\.kind).joined(separator: ", ")))")
            }
            try checkEmptyHooks(args[2], of: "torch._utils._rebuild_parameter")
            return .tensor(tensor)
        case .device:
            guard (1...2).contains(args.count), case .string(let type) = args[0] else {
                throw fail("torch.device expects (str[, int]), got (\(args.map(\.kind).joined(separator: ", ")))")
            }
            if args.count == 2 { guard case .int = args[1] else { throw fail("torch.device index is a \(args[1].kind)") } }
            return .device(type)
        case .storageType(let dtype):
            throw forbid("REDUCE on torch \(dtype.rawValue) storage type is not allowed")
        }
    }

    private func checkEmptyHooks(_ hooks: PickleValue, of function: String) throws {
        guard case .dict(let dict) = hooks, dict.ordered else { throw fail("\(function): backward hooks are a \(hooks.kind), not an OrderedDict") }
        guard dict.count == 0 else { throw forbid("\(function): \(dict.count) backward hooks; hooks are code and are not loaded") }
    }

    private func rebuildTensor(_ args: [PickleValue]) throws -> TensorView {
        let function = "torch._utils._rebuild_tensor_v2"
        guard (6...7).contains(args.count) else { throw fail("\(function) expects 6 or 7 arguments, got \(args.count)") }
        guard case .storage(let storage) = args[0] else { throw fail("\(function): argument 1 is a \(args[0].kind), not a storage") }
        guard case .int(let offset) = args[1], offset >= 0 else { throw fail("\(function): storage offset is not a non-negative int") }
        let shape = try intTuple(args[2], what: "size")
        let strides = try intTuple(args[3], what: "stride")
        guard shape.count == strides.count else { throw fail("\(function): size has \(shape.count) dimensions, stride \(strides.count)") }
        guard case .bool = args[4] else { throw fail("\(function): requires_grad is a \(args[4].kind), not a bool") }
        try checkEmptyHooks(args[5], of: function)
        if args.count == 7 {
            guard case .dict(let metadata) = args[6], metadata.count == 0 else {
                throw forbid("\(function): tensor metadata (\(args[6].kind)) is not supported")
            }
        }
        // Every element the view can reach must lie inside the storage: offset + sum((size-1)*stride) < count.
        if !shape.contains(0) {
            var last = offset
            for (size, stride) in zip(shape, strides) {
                let (span, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(span)
                guard !overflow1, !overflow2 else { throw fail("\(function): view extent overflows") }
                last = sum
            }
            guard last < storage.count else {
                throw fail("\(function): view reaches element \(last) of storage '\(untrustedText(storage.key))', which holds \(storage.count) elements")
            }
        } else {
            guard offset <= storage.count else { throw fail("\(function): storage offset \(offset) beyond storage '\(untrustedText(storage.key))' of \(storage.count) elements") }
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw fail("\(function): element count overflows") }
            count = product
        }
        // A state dict's tensor never has more elements than its storage; a view that does repeats
        // elements (stride 0 on a dimension longer than 1), and reading it would allocate its whole count.
        guard count <= storage.count else {
            throw fail("\(function): view of shape \(shape) has \(count) elements, more than the \(storage.count) of storage '\(untrustedText(storage.key))' (a broadcast view with stride 0?)")
        }
        // A dimension of size 1 is never stepped along: its stride (arbitrary in torch) is taken as 0.
        let steps = zip(shape, strides).map { $0 == 1 ? 0 : $1 }
        return TensorView(storage: storage, offset: offset, shape: shape, strides: steps)
    }

    private func intTuple(_ value: PickleValue, what: String) throws -> [Int] {
        guard case .tuple(let items, _) = value else { throw fail("tensor \(what) is a \(value.kind), not a tuple") }
        guard items.count <= limits.maxDimensions else { throw limit("tensor with \(items.count) dimensions (limit \(limits.maxDimensions))") }
        return try items.map {
            guard case .int(let int) = $0, int >= 0 else { throw fail("tensor \(what) holds a \($0.kind) that is not a non-negative int") }
            return int
        }
    }

    /// BUILD: an OrderedDict's attribute dict (the state dict's `_metadata`), or an empty state on a tensor.
    private func build(_ instance: PickleValue, _ state: PickleValue) throws {
        switch instance {
        case .dict(let dict) where dict.ordered:
            guard case .dict = state else { throw forbid("BUILD on an OrderedDict with a \(state.kind) state; only a dict of attributes is allowed") }
            state.freeze()
        case .tensor:
            switch state {
            case .none: break
            case .dict(let dict) where dict.count == 0: break
            default: throw forbid("BUILD on a tensor with a \(state.kind) state is not supported")
            }
        default:
            throw forbid("BUILD on a \(instance.kind) is not allowed (only OrderedDict and tensors)")
        }
    }

    /// BINPERSID: only storage references.
    private mutating func persistentLoad(_ id: PickleValue) throws -> StorageReference {
        guard case .tuple(let items, _) = id else { throw forbid("persistent id is a \(id.kind), not a storage tuple") }
        let expected = layout == .zip ? 5 : 6
        guard items.count == expected, case .string("storage") = items[0] else {
            throw forbid("persistent id is not ('storage', type, key, location, numel\(layout == .legacy ? ", view" : ""))")
        }
        guard case .global(.storageType(let dtype)) = items[1] else { throw fail("persistent id storage type is a \(items[1].kind)") }
        guard case .string(let key) = items[2], !key.isEmpty else { throw fail("persistent id key is not a non-empty str") }
        try chargeKey(key, what: "storage key")
        guard case .string = items[3] else { throw fail("persistent id location is a \(items[3].kind), not a str") }
        guard case .int(let count) = items[4], count >= 0 else { throw fail("storage '\(untrustedText(key))': element count is not a non-negative int") }
        guard count.multipliedReportingOverflow(by: dtype.byteSize).overflow == false else { throw fail("storage '\(untrustedText(key))': \(count) elements overflow") }
        if layout == .legacy {
            guard case .none = items[5] else { throw forbid("storage '\(untrustedText(key))': legacy storage views are not supported") }
        }
        let reference = StorageReference(key: key, dtype: dtype, count: count)
        if let previous = storages[key], previous != reference {
            throw fail("storage '\(untrustedText(key))' is referenced as \(previous.count) \(previous.dtype.rawValue) and as \(count) \(dtype.rawValue)")
        }
        storages[key] = reference
        return reference
    }

    static func opcodeName(_ code: UInt8) -> String {
        switch code {
        case 0x80: "PROTO"
        case 0x95: "FRAME"
        case 0x2E: "STOP"
        case 0x28: "MARK"
        case 0x29: "EMPTY_TUPLE"
        case 0x5D: "EMPTY_LIST"
        case 0x7D: "EMPTY_DICT"
        case 0x4E: "NONE"
        case 0x88: "NEWTRUE"
        case 0x89: "NEWFALSE"
        case 0x4A: "BININT"
        case 0x4B: "BININT1"
        case 0x4D: "BININT2"
        case 0x8A: "LONG1"
        case 0x47: "BINFLOAT"
        case 0x8C: "SHORT_BINUNICODE"
        case 0x58: "BINUNICODE"
        case 0x8D: "BINUNICODE8"
        case 0x71: "BINPUT"
        case 0x72: "LONG_BINPUT"
        case 0x94: "MEMOIZE"
        case 0x68: "BINGET"
        case 0x6A: "LONG_BINGET"
        case 0x85: "TUPLE1"
        case 0x86: "TUPLE2"
        case 0x87: "TUPLE3"
        case 0x74: "TUPLE"
        case 0x61: "APPEND"
        case 0x65: "APPENDS"
        case 0x73: "SETITEM"
        case 0x75: "SETITEMS"
        case 0x63: "GLOBAL"
        case 0x93: "STACK_GLOBAL"
        case 0x52: "REDUCE"
        case 0x62: "BUILD"
        case 0x51: "BINPERSID"
        case 0x81: "NEWOBJ"
        case 0x92: "NEWOBJ_EX"
        case 0x69: "INST"
        case 0x6F: "OBJ"
        case 0x50: "PERSID"
        case 0x82, 0x83, 0x84: "EXT"
        default: String(format: "0x%02x", code)
        }
    }
}

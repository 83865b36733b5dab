#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
import Kernels

/// Where every parameter lives in one flat buffer, under its Hugging Face name.
///
/// The same layout serves the weights, their gradients and AdamW's two moments, so the optimizer
/// is one loop over contiguous memory. The query, key and value weights of a layer are adjacent
/// ([3C, C]) and so are their biases ([3C]): one matrix product computes all three projections.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// AdamW weight decay applies (not to biases and LayerNorm weights, as in the seed).
        public let decays: Bool
    }

    /// Offsets of one encoder layer's tensors (C hidden, I intermediate).
    public struct Layer: Sendable {
        public let qkvWeight: Int      // [3C, C] query | key | value
        public let qkvBias: Int        // [3C]
        public let attnOutWeight: Int  // [C, C]
        public let attnOutBias: Int    // [C]
        public let ln1Weight: Int, ln1Bias: Int   // [C]
        public let ffnInWeight: Int    // [I, C]
        public let ffnInBias: Int      // [I]
        public let ffnOutWeight: Int   // [C, I]
        public let ffnOutBias: Int     // [C]
        public let ln2Weight: Int, ln2Bias: Int   // [C]
    }

    public let entries: [Entry]
    public let count: Int
    public let wordEmbeddings: Int      // [V, C]
    public let positionEmbeddings: Int  // [maxT, C]
    public let tokenTypeEmbeddings: Int // [types, C]
    public let embLNWeight: Int, embLNBias: Int
    public let layers: [Layer]
    public let poolerWeight: Int, poolerBias: Int      // [C, C], [C]
    public let classifierWeight: Int, classifierBias: Int  // [K, C], [K]

    public init(config: BertConfig) {
        let numLabels = config.numLabels
        var entries: [Entry] = []
        var total = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let decays = !(name.hasSuffix("bias") || name.contains("LayerNorm.weight"))
            entries.append(Entry(name: name, shape: shape, offset: total, decays: decays))
            total += shape.reduce(1, *)
            return total - shape.reduce(1, *)
        }
        let C = config.hiddenSize, I = config.intermediateSize
        wordEmbeddings = add("bert.embeddings.word_embeddings.weight", [config.vocabSize, C])
        positionEmbeddings = add("bert.embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, C])
        tokenTypeEmbeddings = add("bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, C])
        embLNWeight = add("bert.embeddings.LayerNorm.weight", [C])
        embLNBias = add("bert.embeddings.LayerNorm.bias", [C])
        var layers: [Layer] = []
        for l in 0..<config.numHiddenLayers {
            let p = "bert.encoder.layer.\(l)."
            let q = add(p + "attention.self.query.weight", [C, C])
            _ = add(p + "attention.self.key.weight", [C, C])
            _ = add(p + "attention.self.value.weight", [C, C])
            let qb = add(p + "attention.self.query.bias", [C])
            _ = add(p + "attention.self.key.bias", [C])
            _ = add(p + "attention.self.value.bias", [C])
            layers.append(Layer(
                qkvWeight: q, qkvBias: qb,
                attnOutWeight: add(p + "attention.output.dense.weight", [C, C]),
                attnOutBias: add(p + "attention.output.dense.bias", [C]),
                ln1Weight: add(p + "attention.output.LayerNorm.weight", [C]),
                ln1Bias: add(p + "attention.output.LayerNorm.bias", [C]),
                ffnInWeight: add(p + "intermediate.dense.weight", [I, C]),
                ffnInBias: add(p + "intermediate.dense.bias", [I]),
                ffnOutWeight: add(p + "output.dense.weight", [C, I]),
                ffnOutBias: add(p + "output.dense.bias", [C]),
                ln2Weight: add(p + "output.LayerNorm.weight", [C]),
                ln2Bias: add(p + "output.LayerNorm.bias", [C])))
        }
        self.layers = layers
        poolerWeight = add("bert.pooler.dense.weight", [C, C])
        poolerBias = add("bert.pooler.dense.bias", [C])
        classifierWeight = add("classifier.weight", [numLabels, C])
        classifierBias = add("classifier.bias", [numLabels])
        self.entries = entries
        self.count = total
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}

/// How a loaded model holds its weights.
public enum WeightStorage: Sendable {
    /// In memory of its own, copied from the file: the file may change or go once loading is done.
    case copy
    /// Where the layout allows it (a safetensors file of float32 tensors in the model's own order,
    /// as `BertClassifier.save` writes it), the file's pages themselves, mapped copy-on-write: no
    /// copy and no fresh memory, so a large model is ready in a fraction of the time. The file must
    /// then not be overwritten in place or truncated while the model lives (replacing it by rename,
    /// as this package saves, is safe). Other files are copied as with `.copy`.
    case mapped
}

/// One flat, zero-initialized, 64-byte-aligned Float buffer laid out by a `ParameterLayout`.
///
/// Large buffers are mapped pages of their own (on Linux with transparent huge pages requested):
/// fresh memory arrives zeroed from the kernel, in far fewer page faults than 4 KB pages take. A
/// buffer can also view a mapped file (`WeightStorage.mapped`).
public final class ParameterBuffer: @unchecked Sendable {
    public let layout: ParameterLayout
    public let base: UnsafeMutablePointer<Float>
    public var count: Int { layout.count }
    /// The pages to unmap at deinit, or nil for a heap allocation.
    private let mapping: (start: UnsafeMutableRawPointer, length: Int)?
    /// True when the values are a copy-on-write view of a file (`WeightStorage.mapped`).
    package let viewsFile: Bool

    public convenience init(layout: ParameterLayout) {
        self.init(layout: layout, zeroed: true)
    }

    /// Buffers from this size on get pages of their own.
    static let mappedFrom = 2 << 20

    /// `zeroed: false` leaves the values undefined, for a caller that writes every one of them (a
    /// checkpoint loader): it saves touching every page twice.
    init(layout: ParameterLayout, zeroed: Bool) {
        self.layout = layout
        let bytes = max(1, layout.count) * 4
        if bytes >= Self.mappedFrom, let pages = Self.mapAnonymous(bytes) {
            mapping = (pages, bytes)
            viewsFile = false
            base = pages.bindMemory(to: Float.self, capacity: max(1, layout.count))   // zero-filled by the kernel
            return
        }
        mapping = nil
        viewsFile = false
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(1, layout.count))
        if zeroed { base.initialize(repeating: 0, count: max(1, layout.count)) }
    }

    /// Views `layout.count` floats at byte `offset` of the file at `path`, mapped copy-on-write
    /// (writes stay in this process). `offset` must be a multiple of 64; the caller has checked that
    /// the file holds the floats there.
    init(layout: ParameterLayout, mappingFile path: String, offset: Int) throws {
        precondition(offset % 64 == 0 && layout.count > 0)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BertError.checkpoint(file: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let (length, overflow) = (offset - start).addingReportingOverflow(layout.count * 4)
        guard !overflow, let pages = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, off_t(start)),
              pages != MAP_FAILED else {
            throw BertError.checkpoint(file: path, message: "cannot map the weights: \(String(cString: strerror(errno)))")
        }
        self.layout = layout
        mapping = (pages, length)
        viewsFile = true
        base = (pages + (offset - start)).bindMemory(to: Float.self, capacity: layout.count)
    }

    private static func mapAnonymous(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard let pages = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              pages != MAP_FAILED else { return nil }
        #if os(Linux)
        _ = madvise(pages, bytes, MADV_HUGEPAGE)   // a request; the kernel may decline
        #endif
        return pages
    }

    deinit {
        if let mapping { munmap(mapping.start, mapping.length) } else { base.deallocate() }
    }

    @inline(__always) public subscript(offset: Int) -> UnsafeMutablePointer<Float> { base + offset }

    /// The tensor `name` as a buffer (nil if the layout has no such name).
    public func tensor(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.entry(named: name).map { UnsafeMutableBufferPointer(start: base + $0.offset, count: $0.count) }
    }

    public func zero() { base.update(repeating: 0, count: layout.count) }

    package func copy(from other: ParameterBuffer) {
        precondition(other.layout.count == layout.count)
        base.update(from: other.base, count: layout.count)
    }
}

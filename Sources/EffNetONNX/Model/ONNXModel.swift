import EffNet

/// An ONNX model read through protobuf-c: everything EffNetKit needs copied into Swift values,
/// the protobuf tree freed before the initializer returns. Inline tensor data is copied once out of
/// the protobuf; external data stays in the mapped external files (views, no copy), so weights
/// beyond protobuf's 2 GiB limit load as long as they are stored externally.
///
///     let model = try ONNXModel(path: "model.onnx")
///     print(model.producerName, model.graph.operatorHistogram)
public final class ONNXModel: @unchecked Sendable {
    /// Limits applied while reading.
    public struct ReadOptions: Sendable {
        /// Largest .onnx file accepted (protobuf's own limit is 2 GiB).
        public var maxProtobufBytes = Int(Int32.max) - 1
        /// Bytes protobuf-c may allocate while unpacking; nil for 2 x file size + 256 MiB.
        public var unpackBudget: Int?
        public init() {}
    }

    public let path: String
    /// The folder external data is resolved against (the model's own folder).
    public let directory: String
    public let irVersion: Int64
    public let producerName: String
    public let producerVersion: String
    public let domain: String
    public let modelVersion: Int64
    public let docString: String
    /// (domain, version); the default domain is "".
    public let opsetImports: [(domain: String, version: Int64)]
    /// metadata_props as read (invalid UTF-8 replaced by U+FFFD; a NUL is kept, not a terminator).
    public let metadata: [(key: String, value: String)]
    public let graph: ONNXGraph
    public let functions: [ONNXFunction]
    /// The most memory protobuf-c held while unpacking, in bytes.
    public let unpackPeakBytes: Int
    /// Bytes protobuf-c still held after the tree was freed: 0 unless something leaks.
    public let unpackBytesNotFreed: Int

    /// Maps and reads `path`.
    /// - Throws: `FileError` when the file cannot be opened; `ONNXError` for anything wrong inside.
    public convenience init(path: String, options: ReadOptions = ReadOptions()) throws {
        try self.init(file: try MappedFile(path: path), options: options)
    }

    /// Reads an already mapped file; external data is resolved beside it.
    /// - Throws: `ONNXError` naming the file and the place.
    public convenience init(file: MappedFile, options: ReadOptions = ReadOptions()) throws {
        try self.init(bytes: file.bytes, path: file.path, directory: Self.directory(of: file.path), options: options)
    }

    /// Reads ONNX bytes; `path` is used in messages, `directory` for external data.
    /// - Throws: `ONNXError` naming `path` and the place.
    public init(bytes: UnsafeRawBufferPointer, path: String, directory: String, options: ReadOptions = ReadOptions()) throws {
        let budget = options.unpackBudget ?? (CheckedSize.multiply(bytes.count, 2).flatMap { CheckedSize.add($0, 256 << 20) } ?? Int.max)
        let resolver = ExternalDataResolver(modelPath: path, directory: directory)
        let (decoded, statistics) = try ProtobufUnpacker.withModel(bytes, path: path, maxBytes: options.maxProtobufBytes, budget: budget) {
            try ModelDecoder(path: path, external: resolver).model($0)
        }
        unpackPeakBytes = statistics.peakBytes
        unpackBytesNotFreed = statistics.bytesNotFreed
        self.path = path
        self.directory = directory
        irVersion = decoded.irVersion
        producerName = decoded.producerName
        producerVersion = decoded.producerVersion
        domain = decoded.domain
        modelVersion = decoded.modelVersion
        docString = decoded.docString
        opsetImports = decoded.opsetImports
        metadata = decoded.metadata
        graph = decoded.graph
        functions = decoded.functions
    }

    /// The imported version of `domain` ("" or "ai.onnx" for the default set).
    public func opsetVersion(domain: String = "") -> Int64? {
        let d = domain == "ai.onnx" ? "" : domain
        return opsetImports.first { ($0.domain == "ai.onnx" ? "" : $0.domain) == d }?.version
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

import EffNet

/// One tensor of the file (an initializer, a Constant node's value, an attribute tensor), its bytes
/// validated against its type and shape: inline data copied out of the protobuf, external data as
/// a view into the mapped external file.
public struct ONNXTensor: @unchecked Sendable {
    /// Where the bytes live.
    public enum Location: Equatable, Sendable {
        /// In the .onnx file (raw_data or a typed field), copied once out of the protobuf.
        case inline
        /// In an external file beside the model: the resolved path, the byte offset and length.
        case external(path: String, offset: Int, length: Int)
    }

    public let name: String
    public let dataType: ONNXDataType
    public let dims: [Int]
    /// The element view (dtype = `dataType.dtype`, shape = `dims`).
    public let raw: RawTensor
    public let location: Location

    public init(name: String, dataType: ONNXDataType, dims: [Int], raw: RawTensor, location: Location = .inline) {
        self.name = name; self.dataType = dataType; self.dims = dims; self.raw = raw; self.location = location
    }

    public var count: Int { raw.count }
    public var byteCount: Int { raw.byteCount }

    /// A float32 tensor from Swift values (Constant nodes' value_float(s)).
    public static func floats(_ values: [Float], dims: [Int], name: String) throws -> ONNXTensor {
        let storage = values.withUnsafeBytes { ByteStorage(copying: $0) }
        return ONNXTensor(name: name, dataType: .float, dims: dims,
                          raw: try RawTensor(dtype: .f32, shape: dims, storage: storage))
    }

    /// An int64 tensor from Swift values (Constant nodes' value_int(s)).
    public static func ints(_ values: [Int64], dims: [Int], name: String) throws -> ONNXTensor {
        let storage = values.map { $0.littleEndian }.withUnsafeBytes { ByteStorage(copying: $0) }
        return ONNXTensor(name: name, dataType: .int64, dims: dims,
                          raw: try RawTensor(dtype: .i64, shape: dims, storage: storage))
    }
}

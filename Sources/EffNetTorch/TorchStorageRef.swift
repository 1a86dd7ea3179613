import EffNet

/// A storage as a persistent id declares it: `('storage', StorageType, key, location, numel)`
/// (zip format) or `(..., numel, view_metadata)` (legacy format). Its bytes are bound later, from
/// `data/<key>` (zip) or from the data section after the pickles (legacy).
public struct TorchStorageRef: Sendable, Equatable {
    /// A legacy storage view: `view_metadata = (view_key, offset, size)`, in elements of the
    /// root storage's type.
    public struct View: Sendable, Equatable {
        public let key: String
        public let offset: Int
        public let count: Int
    }

    public let key: String
    /// "FloatStorage", "UntypedStorage", ...
    public let typeName: String
    /// Element type; u8 for UntypedStorage; nil for types DType cannot hold (complex, quantized).
    public let dtype: DType?
    public let elementSize: Int
    /// Declared size in elements of `elementSize` (bytes for UntypedStorage).
    public let numel: Int
    /// "cpu", "cuda:0", ...: recorded, not used (everything is read to the CPU).
    public let location: String
    public let view: View?

    /// Bytes the root storage holds, or nil on overflow.
    public var byteCount: Int? { CheckedSize.multiply(numel, elementSize) }
}

/// A tensor as `_rebuild_tensor_v2/_v3` (or `_rebuild_parameter`) describes it: a strided view of
/// a storage. Turned into a validated `RawTensor` once the storage's bytes are known.
public struct TorchTensorRecord: Sendable, Equatable {
    public let storage: TorchStorageRef
    /// Element type: the storage's, or `_rebuild_tensor_v3`'s explicit dtype.
    public let dtype: DType?
    public let dtypeName: String
    public let elementSize: Int
    /// Offset in elements from the start of the storage (or its legacy view).
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
    public let requiresGrad: Bool
    public let isParameter: Bool
    /// File offset of the REDUCE that built it.
    public let opcodeOffset: Int

    func asParameter(requiresGrad: Bool) -> TorchTensorRecord {
        TorchTensorRecord(storage: storage, dtype: dtype, dtypeName: dtypeName, elementSize: elementSize,
                          offset: offset, shape: shape, strides: strides, requiresGrad: requiresGrad,
                          isParameter: true, opcodeOffset: opcodeOffset)
    }
}

extension DType {
    /// The name torch gives this element type ("float32", "bfloat16", ...).
    public var torchName: String {
        switch self {
        case .f64: return "float64"
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .i64: return "int64"
        case .i32: return "int32"
        case .i16: return "int16"
        case .i8: return "int8"
        case .u8: return "uint8"
        case .bool: return "bool"
        }
    }
}

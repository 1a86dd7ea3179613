import EffNet

/// TensorProto.DataType values (onnx.proto), with the ones EffNetKit reads mapped onto `DType`.
public enum ONNXDataType: Int32, Sendable, CaseIterable, Codable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8
    case bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14
    case complex128 = 15, bfloat16 = 16

    /// The stored element type, or nil for types EffNetKit does not read.
    public var dtype: DType? {
        switch self {
        case .float: return .f32
        case .uint8: return .u8
        case .int8: return .i8
        case .int16: return .i16
        case .int32: return .i32
        case .int64: return .i64
        case .bool: return .bool
        case .float16: return .f16
        case .double: return .f64
        case .bfloat16: return .bf16
        case .uint16, .uint32, .uint64, .string, .complex64, .complex128: return nil
        }
    }

    public var isFloatingPoint: Bool { self == .float || self == .float16 || self == .double || self == .bfloat16 }

    /// The spec's spelling, e.g. "FLOAT16".
    public var name: String {
        switch self {
        case .float: return "FLOAT"
        case .uint8: return "UINT8"
        case .int8: return "INT8"
        case .uint16: return "UINT16"
        case .int16: return "INT16"
        case .int32: return "INT32"
        case .int64: return "INT64"
        case .string: return "STRING"
        case .bool: return "BOOL"
        case .float16: return "FLOAT16"
        case .double: return "DOUBLE"
        case .uint32: return "UINT32"
        case .uint64: return "UINT64"
        case .complex64: return "COMPLEX64"
        case .complex128: return "COMPLEX128"
        case .bfloat16: return "BFLOAT16"
        }
    }

    /// The spelling of any data_type number, known or not.
    public static func name(of raw: Int32) -> String {
        ONNXDataType(rawValue: raw)?.name ?? "data_type \(raw)"
    }

    public init?(_ dtype: DType) {
        switch dtype {
        case .f32: self = .float
        case .f64: self = .double
        case .f16: self = .float16
        case .bf16: self = .bfloat16
        case .i64: self = .int64
        case .i32: self = .int32
        case .i16: self = .int16
        case .i8: self = .int8
        case .u8: self = .uint8
        case .bool: self = .bool
        }
    }
}

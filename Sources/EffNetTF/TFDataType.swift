import EffNet

/// TensorFlow's `DataType` numbers (tensorflow/core/framework/types.proto) for the types a
/// checkpoint of weights holds, with their EffNet element type where there is one.
public struct TFDataType: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let float = TFDataType(rawValue: 1)
    public static let double = TFDataType(rawValue: 2)
    public static let int32 = TFDataType(rawValue: 3)
    public static let uint8 = TFDataType(rawValue: 4)
    public static let int16 = TFDataType(rawValue: 5)
    public static let int8 = TFDataType(rawValue: 6)
    public static let string = TFDataType(rawValue: 7)
    public static let int64 = TFDataType(rawValue: 9)
    public static let bool = TFDataType(rawValue: 10)
    public static let bfloat16 = TFDataType(rawValue: 14)
    public static let half = TFDataType(rawValue: 19)

    private static let table: [Int32: (name: String, dtype: DType?)] = [
        1: ("float32", .f32), 2: ("float64", .f64), 3: ("int32", .i32), 4: ("uint8", .u8),
        5: ("int16", .i16), 6: ("int8", .i8), 7: ("string", nil), 8: ("complex64", nil),
        9: ("int64", .i64), 10: ("bool", .bool), 14: ("bfloat16", .bf16), 17: ("uint16", nil),
        18: ("complex128", nil), 19: ("float16", .f16), 20: ("resource", nil), 21: ("variant", nil),
        22: ("uint32", nil), 23: ("uint64", nil),
    ]

    /// The element type of a tensor of this type as a RawTensor, nil when EffNet has none.
    public var dtype: DType? { Self.table[rawValue]?.dtype }

    /// TensorFlow's short name ("float32", "bfloat16", ...), or "DataType N".
    public var description: String { Self.table[rawValue]?.name ?? "DataType \(rawValue)" }
}

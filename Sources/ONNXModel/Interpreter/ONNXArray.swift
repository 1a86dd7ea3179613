import EffNet

/// A runtime value of the reference interpreter: a dense row-major tensor whose elements are held
/// as Float (every floating-point type; values are float32 between operators, while convolutions,
/// matrix products, pooling, reductions and softmax accumulate in Double) or Int64 (every integer
/// type and bool). `elementType` keeps the declared ONNX type so Shape/Cast/Equal behave as specified.
public struct ONNXArray: Sendable, Equatable, CustomStringConvertible {
    public var elementType: ONNXDataType
    public var shape: [Int]
    /// The elements when `elementType.isFloatingPoint`, else empty.
    public var floats: [Float]
    /// The elements for integer and bool types, else empty.
    public var ints: [Int64]

    public init(floats: [Float], shape: [Int], type: ONNXDataType = .float) {
        precondition(shape.reduce(1, *) == floats.count, "ONNXArray: \(floats.count) values for shape \(shape)")
        elementType = type; self.shape = shape; self.floats = floats; ints = []
    }

    public init(ints: [Int64], shape: [Int], type: ONNXDataType = .int64) {
        precondition(shape.reduce(1, *) == ints.count, "ONNXArray: \(ints.count) values for shape \(shape)")
        elementType = type; self.shape = shape; self.ints = ints; floats = []
    }

    public init(_ tensor: Tensor) { self.init(floats: tensor.scalars, shape: tensor.shape) }

    /// The values of a file tensor (float types widened to Float, integers to Int64).
    public init(_ tensor: ONNXTensor) {
        if tensor.dataType.isFloatingPoint {
            self.init(floats: tensor.raw.floats(), shape: tensor.dims, type: tensor.dataType)
        } else {
            self.init(ints: tensor.raw.int64s(), shape: tensor.dims, type: tensor.dataType)
        }
    }

    public var isFloat: Bool { elementType.isFloatingPoint }
    public var count: Int { isFloat ? floats.count : ints.count }
    public var rank: Int { shape.count }

    /// The values as Float whatever the type.
    public var asFloats: [Float] { isFloat ? floats : ints.map { Float($0) } }
    /// The values as Int64 whatever the type (floats truncated toward zero, NaN as 0, saturating).
    public var asInts: [Int64] { isFloat ? floats.map(Self.truncate) : ints }

    static func truncate(_ f: Float) -> Int64 {
        if f.isNaN { return 0 }
        if f >= 9.2233715e18 { return Int64.max }
        if f <= -9.2233715e18 { return Int64.min }
        return Int64(f.rounded(.towardZero))
    }

    /// A float tensor (throws nothing: integer values are converted).
    public var tensor: Tensor { Tensor(shape: shape, scalars: asFloats) }

    public var description: String { "\(elementType.name)\(shape)" }
}

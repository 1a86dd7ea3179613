import EffNet

/// A runtime value of the reference interpreter: a dense row-major tensor whose elements are held
/// as Double (every floating-point type) or Int64 (every integer type and bool). `elementType` keeps
/// the declared ONNX type so Shape/Cast/Equal behave as specified.
///
/// Floats are computed and kept in Double between operators (float16/bfloat16 values are rounded
/// where a Cast makes them): the interpreter is the reference ONNX conversions are verified
/// against, and a deep EfficientNet amplifies any float32 rounding about a thousandfold (issue 16),
/// so a float32 interpreter would fail correct conversions.
public struct ONNXArray: Sendable, Equatable, CustomStringConvertible {
    public var elementType: ONNXDataType
    public var shape: [Int]
    /// The elements when `elementType.isFloatingPoint`, else empty.
    public var doubles: [Double]
    /// The elements for integer and bool types, else empty.
    public var ints: [Int64]

    public init(doubles: [Double], shape: [Int], type: ONNXDataType = .float) {
        precondition(shape.reduce(1, *) == doubles.count, "ONNXArray: \(doubles.count) values for shape \(shape)")
        elementType = type; self.shape = shape; self.doubles = doubles; ints = []
    }

    public init(floats: [Float], shape: [Int], type: ONNXDataType = .float) {
        self.init(doubles: floats.map { Double($0) }, shape: shape, type: type)
    }

    public init(ints: [Int64], shape: [Int], type: ONNXDataType = .int64) {
        precondition(shape.reduce(1, *) == ints.count, "ONNXArray: \(ints.count) values for shape \(shape)")
        elementType = type; self.shape = shape; self.ints = ints; doubles = []
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
    public var count: Int { isFloat ? doubles.count : ints.count }
    public var rank: Int { shape.count }

    /// The floating-point elements rounded to Float (empty for integer types).
    public var floats: [Float] { doubles.map { Float($0) } }
    /// The values as Float whatever the type (floating-point values rounded).
    public var asFloats: [Float] { asDoubles.map { Float($0) } }
    /// The values as Double whatever the type.
    public var asDoubles: [Double] { isFloat ? doubles : ints.map { Double($0) } }
    /// The values as Int64 whatever the type (floats truncated toward zero, NaN as 0, saturating).
    public var asInts: [Int64] { isFloat ? doubles.map(Self.truncate) : ints }

    static func truncate(_ f: Double) -> Int64 {
        if f.isNaN { return 0 }
        if f >= 9.223372036854775e18 { return Int64.max }
        if f <= -9.223372036854775e18 { return Int64.min }
        return Int64(f.rounded(.towardZero))
    }

    /// A float tensor, rounded to float32 (throws nothing: integer values are converted).
    public var tensor: Tensor { Tensor(shape: shape, scalars: asDoubles.map { Float($0) }) }

    public var description: String { "\(elementType.name)\(shape)" }
}

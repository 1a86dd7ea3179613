/// The interpreter's operators, one extension per concern (Kernels+Conv.swift, ...).
enum Kernels {
    /// Every supported ai.onnx operator.
    static let supported: Set<String> = [
        "Conv", "BatchNormalization", "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
        "Gemm", "MatMul", "Pad", "Softmax", "LogSoftmax",
        "Sigmoid", "Relu", "LeakyRelu", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Ceil", "Floor",
        "Round", "Erf", "HardSigmoid", "HardSwish", "Softplus", "Sign", "Not", "Clip",
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater", "LessOrEqual",
        "GreaterOrEqual", "And", "Or", "Where",
        "Constant", "Identity", "Dropout", "Cast", "CastLike", "Shape", "Size", "Gather", "Concat", "Slice",
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Expand", "ConstantOfShape", "Range", "Tile",
    ]

    /// Runs one ai.onnx node.
    /// - Throws: `ONNXRuntimeError` naming the node.
    static func dispatch(_ c: OpContext) throws -> [ONNXArray] {
        switch c.op {
        case "Conv": return [try conv(c)]
        case "BatchNormalization": return [try batchNormalization(c)]
        case "GlobalAveragePool", "GlobalMaxPool": return [try globalAveragePool(c)]
        case "AveragePool": return [try averagePool(c)]
        case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin": return [try reduce(c)]
        case "Gemm": return [try gemm(c)]
        case "MatMul": return [try matMul(c)]
        case "Pad": return [try pad(c)]
        case "Softmax", "LogSoftmax": return [try softmax(c, log: c.op == "LogSoftmax")]
        case "Clip": return [try clip(c)]
        case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or":
            return [try binary(c)]
        case "Max", "Min", "Sum", "Mean": return [try variadic(c)]
        case "Where": return [try whereOp(c)]
        case "Constant": return [try constant(c)]
        case "Identity": return [try c.input(0)]
        case "Dropout": return try dropout(c)
        case "Cast", "CastLike": return [try cast(c)]
        case "Shape": return [try shape(c)]
        case "Size": return [ONNXArray(ints: [Int64(try c.input(0).count)], shape: [])]
        case "Gather": return [try gather(c)]
        case "Concat": return [try concat(c)]
        case "Slice": return [try slice(c)]
        case "Reshape": return [try reshape(c)]
        case "Flatten": return [try flatten(c)]
        case "Squeeze": return [try squeeze(c)]
        case "Unsqueeze": return [try unsqueeze(c)]
        case "Transpose": return [try transpose(c)]
        case "Expand": return [try expand(c)]
        case "ConstantOfShape": return [try constantOfShape(c)]
        case "Range": return [try range(c)]
        case "Tile": return [try tile(c)]
        default:
            if supported.contains(c.op) { return [try unary(c)] }
            throw ONNXRuntimeError.unsupportedOperator(op: c.op, domain: c.node.domain, node: c.node.label)
        }
    }

    static func constant(_ c: OpContext) throws -> ONNXArray {
        ONNXArray(try ONNXConstant.tensor(of: c.node, named: c.node.outputs.first ?? ""))
    }

    static func dropout(_ c: OpContext) throws -> [ONNXArray] {
        // Inference: the identity; training_mode (an input since opset 12) must not be true.
        if let t = c.optionalInput(2), t.asInts.contains(where: { $0 != 0 }) {
            throw c.unsupported("training_mode = true")
        }
        let x = try c.input(0)
        return [x, ONNXArray(ints: [Int64](repeating: 1, count: x.count), shape: x.shape, type: .bool)]
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc &*= max(shape[i], 1)
        }
        return s
    }
}

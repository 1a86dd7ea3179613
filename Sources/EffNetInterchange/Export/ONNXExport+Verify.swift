import EffNet
import EffNetONNX

/// Checking an export before it is kept: the bytes read back with the project's own ONNX reader,
/// the graph run by the reference interpreter and compared with the model's own float64 forward
/// pass on the same input, in the graph's input convention.
///
///     let bytes = try ONNXExport.modelBytes(model, options: options)
///     let c = try ONNXExport.verify(bytes, model: model, input: probe, options: options)
///     guard c.relativeError <= 1e-4 else { ... }      // write the file only now
extension ONNXExport {
    /// What the exported graph should output for the graph input `x`: the model's float64 forward
    /// pass on the input the model itself takes (the preprocessing nodes' work done here in
    /// Double), without the final softmax when `options.softmax` is false.
    /// - Throws: `InputShapeError` for an input the model does not accept; `WeightCheckError`
    ///   never (the weights are the model's own).
    public static func expectedOutput(_ model: EfficientNet, input x: Tensor, options: ONNXExportOptions) throws -> Tensor {
        var input = x
        if options.includePreprocessing, x.rank == 4 {
            let p = model.config.imagePreprocessing, c = x.shape[1], hw = x.shape[2] * x.shape[3]
            input.scalars = x.scalars.enumerated().map { i, v in
                let ch = (i / hw) % c
                return Float((Double(v) * Double(p.pixelScale) - Double(p.mean[ch])) / Double(p.std[ch]))
            }
        }
        guard !options.softmax else { return try model.float64Forward(input) }
        var config = model.config
        config.finalSoftmax = false
        if config.classifierChain?.last?.kind == .softmax { config.classifierChain?.removeLast() }
        guard config != model.config else { return try model.float64Forward(input) }
        let bare = try EfficientNet(config: config)
        try bare.load(model.parameters)
        return try bare.float64Forward(input)
    }

    /// Reads `bytes` back, runs the graph on `input` (NCHW, the graph's input convention) with the
    /// reference interpreter, and compares with `expectedOutput`.
    /// - Throws: `ONNXError` when the bytes do not read back, `ONNXRuntimeError` when the graph does
    ///   not run, `InputShapeError` for an input the model does not accept.
    public static func verify(_ bytes: [UInt8], model: EfficientNet, input: Tensor, options: ONNXExportOptions) throws -> Comparison {
        let onnx = try bytes.withUnsafeBytes { try ONNXModel(bytes: $0, path: "\(model.config.name).onnx", directory: ".") }
        let output = try ONNXInterpreter(model: onnx).run([inputName: ONNXArray(input)]).outputs[0].tensor
        let expected = try expectedOutput(model, input: input, options: options)
        guard output.shape == expected.shape else {
            throw ONNXRuntimeError.graph(detail: "the exported graph gives \(output.shape), the model \(expected.shape)")
        }
        return Comparison(actual: output, reference: expected)
    }
}

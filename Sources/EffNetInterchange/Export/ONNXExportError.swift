import EffNetONNX

/// Why a model was not exported to ONNX. Nothing is written when one is thrown.
public enum ONNXExportError: Error, Equatable, CustomStringConvertible {
    /// The model pads like TensorFlow's "SAME" from the actual input, and neither an input size
    /// (`ONNXExportOptions.inputSize`) nor the dynamic form (`.samePadding = .shapeArithmetic`)
    /// was chosen.
    case inputSizeRequired(model: String)
    /// An option's value cannot be used (option name, why).
    case invalidOption(model: String, option: String, detail: String)
    /// Something the model holds has no faithful ONNX form (what, why).
    case unsupported(model: String, what: String, detail: String)
    /// The graph could not be serialised.
    case write(ONNXWriteError)

    public var description: String {
        switch self {
        case let .inputSizeRequired(model):
            return "\(model): pads like TensorFlow \"SAME\" from the actual input (padding sameDynamic); ONNX Conv pads are fixed: "
                + "give the input size (ONNXExportOptions.inputSize) to fix them, "
                + "or choose the dynamic form (ONNXExportOptions.samePadding = .shapeArithmetic)"
        case let .invalidOption(model, option, detail): return "\(model): ONNX export option \(option): \(detail)"
        case let .unsupported(model, what, detail): return "\(model): cannot export \(what) to ONNX: \(detail)"
        case let .write(e): return e.description
        }
    }
}

import EffNet

/// Which on-disk format a source file is in, recognised by content (see `FormatSniffer`).
public enum SourceFormat: String, Codable, Sendable {
    case torchZip = "pytorch-zip"
    case torchLegacy = "pytorch-legacy"
    case kerasH5 = "keras-h5"
    case kerasWeightsH5 = "keras-weights-h5"
    case kerasArchive = "keras-archive"
    case onnx = "onnx"
    /// A plain safetensors file (e.g. `safetensors.torch.save_file` of a state_dict).
    case safetensors = "safetensors"
    case effw = "effw"
    /// A TensorFlow checkpoint (tensor bundle): `.index` table plus data shards.
    case tfCheckpoint = "tf-checkpoint"
}

/// One named tensor as the source file stores it (a view into the mapped file where possible).
public struct SourceTensor: @unchecked Sendable {
    public var name: String
    public var raw: RawTensor
    public init(name: String, raw: RawTensor) { self.name = name; self.raw = raw }
    public var shape: [Int] { raw.shape }
    public var dtype: DType { raw.dtype }
}

/// What a reader gives the rest of the pipeline: tensors in file order, plus what the file says
/// about itself. Readers fill it; families and mapping read it. Nothing here knows EfficientNet.
public struct SourceCheckpoint: @unchecked Sendable {
    public var path: String
    public var format: SourceFormat
    /// Tensors in the order the file lists them, names as the file spells them (after wrapper
    /// and prefix stripping, which the reader records in `notes`).
    public var tensors: [SourceTensor]
    /// Entries the reader skipped and why (optimizer state, num_batches_tracked, ...).
    public var skipped: [(name: String, reason: String)]
    /// Free-form facts: "wrapper" -> "state_dict_ema", "prefix" -> "module.", "keras_model_config" -> JSON, ...
    public var notes: [String: String]
    /// Set by readers whose format carries its own structure (ONNX): the mapping to use.
    public var selfMapping: SelfMapping?
    /// Set by readers whose format can run itself (ONNX): the independent reference.
    public var reference: ReferenceModel?
    /// Data checks the reader left for later (`SourceReader.Options.deferDataChecks`): they must
    /// pass before anything built from the tensors' bytes is trusted or committed.
    public var pendingCheck: (@Sendable () throws -> Void)?

    public init(path: String, format: SourceFormat, tensors: [SourceTensor],
                skipped: [(name: String, reason: String)] = [], notes: [String: String] = [:]) {
        self.path = path; self.format = format; self.tensors = tensors; self.skipped = skipped; self.notes = notes
    }

    public func tensor(_ name: String) -> SourceTensor? { tensors.first { $0.name == name } }

    /// Runs the deferred data checks now (does nothing when there are none).
    /// - Throws: the reader's integrity error, e.g. `ZipError.crcMismatch`.
    public func runPendingCheck() throws { try pendingCheck?() }

    public var names: [String] { tensors.map(\.name) }
}

/// A source that can compute its own output (an ONNX graph through the reference interpreter):
/// conversion runs it on a probe batch and compares the Swift model against it.
public protocol ReferenceModel: AnyObject {
    /// The NCHW input shape the source expects, with 0 for free dimensions.
    var inputShape: [Int] { get }
    /// Runs the source model on an NCHW float32 batch.
    func run(_ input: Tensor) throws -> Tensor
}

extension SourceCheckpoint {
    /// Formats that map themselves (ONNX, by walking the graph) set this; name-based families
    /// are then not consulted.
    public typealias SelfMapping = @Sendable () throws -> WeightMapping
}

import EffNet
import EffNetTorch
import Foundation

/// Export: the verified model written as a framework's own file. The target family's names come
/// from its reader's naming run backwards (`TorchExport`), its conventions from reading the
/// names back (`ExportConventions`), and nothing is committed until the written file, read back
/// with the project's own reader as that family, reproduces the model.
extension Converter {
    /// What an export wrote and how its input is to be prepared.
    public struct ExportSummary: Sendable {
        public var container: ExportContainer
        /// The target family; nil for ONNX.
        public var family: FamilyName?
        /// What the written model takes as input, for people.
        public var inputConvention: String
        /// The same for scripts: nil when the written model takes 0-255 pixels itself, else the
        /// mean and std on 0-1 pixels the caller normalises with.
        public var normalisation: (mean: [Float], std: [Float])?
        /// The input size the export was verified at.
        public var inputSize: Int = 0
        /// The read-back comparison against the model.
        public var verification: Verifier.Result?
        public var notes: [String] = []
    }

    /// The container DEST asks for and the family `--to` names, checked against each other.
    /// - Throws: `ExportError.unknownContainer`, `.targetNeeded`, `.targetMismatch`.
    public static func exportTarget(destination: String, to family: FamilyName?) throws -> (ExportContainer, FamilyName?) {
        guard let container = ExportContainer.of(destination: destination) else {
            throw ExportError.unknownContainer(destination: destination)
        }
        if let family {
            guard container.families.contains(family) else {
                throw ExportError.targetMismatch(destination: destination, container: container, family: family)
            }
            return (container, family)
        }
        guard container.families.count <= 1 else {
            throw ExportError.targetNeeded(destination: destination, container: container, families: container.families)
        }
        return (container, container.impliedFamily)
    }

    /// Writes `model` as DEST's container under `family`'s names, after checking that the
    /// family holds the model's conventions and before committing that the file reads back as
    /// the model.
    /// - Throws: `ExportError` (refusals, read-back failures), `FileError`.
    static func export(_ model: EfficientNet, classNames: [String]?, container: ExportContainer, family: FamilyName?,
                       destination: String, options: Options) throws -> ExportSummary {
        var notes: [String] = []
        let source = model
        var model = model
        let folded = model.config.batchNormFolded && container != .onnx
        if folded {
            model = try unfoldingBatchNorm(model, epsilon: model.config.bnEpsilon)
            notes.append("the source's batch norms were folded into its convolutions: written as identity batch norms (weight 1, bias = the folded bias, mean 0, variance 1 - eps)")
        }
        switch container {
        case .torchArchive, .safetensors, .hubFolder:
            guard let family else { throw ExportError.targetNeeded(destination: destination, container: container, families: container.families) }
            if folded {
                // An identity batch norm holds for any epsilon: take the one the family reads.
                let eps = try torchPlan(model, classNames: classNames, family: family, destination: destination, folder: false).outcome.target.bnEpsilon
                model = try unfoldingBatchNorm(model, epsilon: eps)
            }
            return try exportTorch(model, source: source, classNames: classNames, container: container, family: family,
                                   destination: destination, options: options, notes: notes)
        case .kerasWeightsH5, .kerasH5:
            return try exportKeras(model, source: source, container: container, destination: destination, options: options, notes: notes)
        case .onnx:
            return try exportONNX(model, destination: destination, options: options)
        case .effw:
            throw ExportError.cannotHold(family: family ?? .onnxGraph, convention: "\(container.rawValue) files", detail: "an .effw is written by the conversion itself")
        }
    }

    /// An ONNX graph (`ONNXExport`) that takes exactly what the source model took (a Keras
    /// model's 0-255 pixels through its own Mul/Add nodes, a PyTorch model's normalised tensor),
    /// with batch norms as nodes, TF "SAME" as the shape arithmetic TF-exported graphs use, and
    /// a final softmax where the model has one. Read back and run by the project's interpreter
    /// before it is committed.
    private static func exportONNX(_ model: EfficientNet, destination: String, options: Options) throws -> ExportSummary {
        var onnx = ONNXExportOptions()
        onnx.samePadding = .shapeArithmetic
        let bytes = try ONNXExport.modelBytes(model, options: onnx)
        let n = evaluationSize(model.config)
        var summary = ExportSummary(container: .onnx, family: nil, inputConvention: ONNXExport.inputConvention(model.config, options: onnx),
                                    normalisation: model.config.inputTransform == nil ? model.config.torchNormalisation : nil, inputSize: n,
                                    notes: ["batch norms as BatchNormalization nodes" + (model.config.padding.mode == .sameDynamic ? "; TF \"SAME\" padding computed from the input's shape in the graph" : "")])
        try AtomicFileWriter(destination: destination, overwrite: options.overwrite).write({ sink in try sink.write(bytes) }, beforeCommit: { _ in
            let probe = Verifier.probeInput(shape: [2, model.config.inputChannels, n, n], rawPixels: model.config.inputTransform != nil)
            let comparison: Comparison
            do { comparison = try ONNXExport.verify(bytes, model: model, input: probe, options: onnx) } catch {
                throw ExportError.readBack(destination: destination, detail: "\(error)")
            }
            let result = Verifier.Result(method: "export-read-back", comparison: comparison, tolerance: options.tolerance, inputShape: probe.shape)
            guard result.passed else { throw ExportVerificationFailed(result: result) }
            summary.verification = result
        })
        return summary
    }

    /// keras.applications' own weights file (`KerasExport`): the model's input convention goes
    /// into keras' Normalization layer, so the Keras model takes 0-255 pixels.
    private static func exportKeras(_ model: EfficientNet, source: EfficientNet, container: ExportContainer, destination: String,
                                    options: Options, notes: [String]) throws -> ExportSummary {
        let plan = try KerasExport.check(model.config)
        let layout: KerasExport.Layout = container == .kerasWeightsH5 ? .keras3WeightsH5 : .keras2H5
        let bytes = try KerasExport.fileBytes(model, layout: layout, name: destination)
        let size = evaluationSize(model.config)
        var summary = ExportSummary(container: container, family: .keras,
                                    inputConvention: "\(plan.inputConvention), at \(size)x\(size); build \(plan.kerasModel)",
                                    normalisation: nil, inputSize: size, notes: notes + plan.notes)
        try AtomicFileWriter(destination: destination, overwrite: options.overwrite).write({ sink in try sink.write(bytes) },
                                                                                             beforeCommit: { _ in
            // libhdf5 opens paths through realpath(3), which an unnamed file has none of: the same
            // bytes are read back from a private scratch file.
            let scratch = try ScratchFile()
            try bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(scratch.fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw FileError.cannotWrite(path: scratch.path, reason: FileError.reason(errno)) }
                    done += n
                }
            }
            let result = try verifyExport(path: scratch.path, hubNotes: [:], family: .keras, imageSize: plan.inputSize ?? [size, size],
                                          model: model, source: source, destination: destination, tolerance: options.tolerance)
            guard result.passed else { throw ExportVerificationFailed(result: result) }
            summary.verification = result
        })
        return summary
    }

    /// The size padding conventions are compared and verified at: the model's own.
    static func evaluationSize(_ c: EfficientNetConfig) -> Int {
        c.padding.imageSize?.first ?? c.imagePreprocessing.cropSize
    }

    private static func exportTorch(_ model: EfficientNet, source: EfficientNet, classNames: [String]?, container: ExportContainer, family: FamilyName,
                                    destination: String, options: Options, notes: [String]) throws -> ExportSummary {
        var notes = notes
        let plan = try torchPlan(model, classNames: classNames, family: family, destination: destination, folder: container == .hubFolder)
        if !plan.outcome.refusals.isEmpty {
            throw ExportError.unfaithful(destination: destination, family: family, reasons: plan.outcome.refusals,
                                         alternatives: alternatives(to: family, model, classNames: classNames, destination: destination))
        }
        notes += plan.outcome.notes
        var summary = ExportSummary(container: container, family: family, inputConvention: inputConvention(model.config, target: plan.outcome.target),
                                    normalisation: plan.outcome.target.inputTransform == nil ? model.config.torchNormalisation : nil,
                                    inputSize: evaluationSize(model.config), notes: notes)
        let metadata = ["format": "pt"]
        let entries = plan.entries.map { e in
            EffwWriter.Entry(name: e.name, dtype: e.dtype, shape: e.shape) { body in try e.withBytes(body) }
        }
        func verify(_ path: String) throws {
            let result = try verifyExport(path: path, hubNotes: plan.hubNotes, family: family, model: model, source: source,
                                          destination: destination, tolerance: options.tolerance)
            guard result.passed else { throw ExportVerificationFailed(result: result) }
            summary.verification = result
        }
        switch container {
        case .torchArchive:
            let tensors = plan.entries.map { e in
                TorchArchiveWriter.Tensor(name: e.name, dtype: e.dtype, shape: e.shape, bytes: e.withBytes { Array($0) })
            }
            try AtomicFileWriter(destination: destination, overwrite: options.overwrite).write({ sink in
                try TorchArchiveWriter.write(tensors, archiveName: torchArchiveName(destination), to: &sink)
            }, beforeCommit: verify)
        case .safetensors:
            try EffwWriter.writeSafetensors(entries: entries, metadata: metadata, to: destination, overwrite: options.overwrite, beforeCommit: verify)
        case .hubFolder:
            try HubFolderWriter(destination: destination, overwrite: options.overwrite).write(
                files: plan.hubFiles, weights: "model.safetensors") { path in
                try EffwWriter.writeSafetensors(entries: entries, metadata: metadata, to: path, overwrite: options.overwrite, beforeCommit: verify)
            }
        default:
            throw ExportError.cannotHold(family: family, convention: "\(container.rawValue) files", detail: "this build does not write them yet")
        }
        return summary
    }

    /// The folder name inside the archive: `torch.save` uses the file's name without its
    /// extension; anything but letters, digits, '_' and '-' becomes '_'.
    static func torchArchiveName(_ destination: String) -> String {
        let stem = ((destination as NSString).lastPathComponent as NSString).deletingPathExtension
        let safe = String(stem.unicodeScalars.prefix(200).map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "_" || $0 == "-" ? Character($0) : "_" })
        return safe.isEmpty ? "archive" : safe
    }

    /// A torch family's state dict for `model`, the hub files that go with it, and how the
    /// family reads the names back.
    struct TorchPlan {
        var entries: [TorchExport.Entry]
        /// config.json / preprocessor_config.json by file name (folders, and transformers).
        var hubFiles: [(name: String, text: String)]
        /// The same, as a reader attaches them to a checkpoint.
        var hubNotes: [String: String]
        var outcome: ExportConventions.Outcome
    }

    static func torchPlan(_ model: EfficientNet, classNames: [String]?, family: FamilyName, destination: String, folder: Bool) throws -> TorchPlan {
        let entries = try TorchExport.stateDict(model, family: family)
        let names = try TorchExport.shapeCheckpoint(entries, path: destination)
        var hubFiles: [(name: String, text: String)] = []
        if family == .hf {
            hubFiles = try HubExport.transformersFiles(model.config, classNames: classNames, destination: destination)
        } else if folder {
            // timm's config.json names the architecture its reader gives this structure.
            let read = try targetMapping(names, family: family, chain: model.config.classifierChain).config
            hubFiles = try HubExport.timmFiles(model.config, architecture: read.name, family: family, destination: destination)
        }
        var checkpoint = names
        let hubNotes = HubExport.notes(hubFiles)
        checkpoint.notes = hubNotes
        let target = try targetMapping(checkpoint, family: family, chain: model.config.classifierChain).config
        var outcome = ExportConventions.compare(source: model.config, target: target, family: family, evaluationSize: evaluationSize(model.config))
        let p = model.config.imagePreprocessing
        if family == .hf, p.resizeMode == .shorterSide, p.resizeShorterTo != p.cropSize {
            outcome.notes.append("preprocessor_config.json: transformers' processor resizes straight to \(p.cropSize)x\(p.cropSize); the model's resize to \(p.resizeShorterTo) and centre crop are not kept")
        }
        return TorchPlan(entries: entries, hubFiles: hubFiles, hubNotes: hubNotes, outcome: outcome)
    }

    /// How `family`'s reader maps written names; a classifier chain's activations, which no
    /// state dict stores, are the model's own (as `--head` would give them).
    static func targetMapping(_ checkpoint: SourceCheckpoint, family: FamilyName, chain: [EfficientNetConfig.ClassifierLayer]?) throws -> WeightMapping {
        guard let mapping = try candidateMappings(checkpoint, family: family, imageSize: nil, names: nil, head: chain).first else {
            throw MappingError.unknownFamily(path: checkpoint.path, detail: "\(family.rawValue) does not read these names")
        }
        return mapping
    }

    /// The other families that hold `model` faithfully, as `--to` spellings, plus the
    /// containers that hold every model.
    static func alternatives(to family: FamilyName, _ model: EfficientNet, classNames: [String]?, destination: String) -> [String] {
        var out: [String] = []
        for f in TorchExport.families where f != family {
            if let plan = try? torchPlan(model, classNames: classNames, family: f, destination: destination, folder: false),
               plan.outcome.refusals.isEmpty {
                out.append("--to \(f.rawValue)")
            }
        }
        return out + ["an .onnx or .effw DEST"]
    }

    /// What the written model takes, for the report: 0-255 pixels where the target keeps the
    /// model's input transform, else the tensor the caller normalises as the model's
    /// preprocessing and input transform together say.
    static func inputConvention(_ model: EfficientNetConfig, target: EfficientNetConfig) -> String {
        let size = "\(model.imagePreprocessing.cropSize)x\(model.imagePreprocessing.cropSize)"
        if target.inputTransform != nil { return "0-255 RGB pixels, NCHW, at \(size) (the model normalises them)" }
        func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.4g", Double($0)) }.joined(separator: ", ") + "]" }
        let (mean, std) = model.torchNormalisation
        return "a normalised NCHW tensor at \(size): (pixels / 255 - mean) / std, mean \(list(mean)), std \(list(std))"
    }

    /// Reads the file written at `path` back as `family` and checks it is the model: every
    /// parameter bit for bit, and the output on a probe batch at the model's size against the
    /// source model's (the same model, unless batch norms were unfolded), with the model's input
    /// transform and final softmax applied where the target moved them to the caller.
    static func verifyExport(path: String, hubNotes: [String: String], family: FamilyName?, imageSize: [Int]? = nil,
                             model: EfficientNet, source: EfficientNet, destination: String, tolerance: Float) throws -> Verifier.Result {
        var checkpoint: SourceCheckpoint
        do { checkpoint = try SourceReader.read(path: path) } catch {
            throw ExportError.readBack(destination: destination, detail: "\(error)")
        }
        checkpoint.path = destination
        checkpoint.notes.merge(hubNotes) { _, new in new }
        let target: EfficientNet
        do {
            let mapping: WeightMapping
            if family == .keras, let imageSize {
                // Keras' static pads follow the size the model is built for, which weights do not record.
                mapping = try KerasFamily.mapping(for: checkpoint, imageSize: imageSize)
            } else if let family {
                mapping = try targetMapping(checkpoint, family: family, chain: model.config.classifierChain)
            } else {
                guard let own = checkpoint.selfMapping else { throw ExportError.readBack(destination: destination, detail: "no mapping") }
                mapping = try own()
            }
            target = try buildModel(checkpoint, mapping)
        } catch let e as ExportError { throw e } catch {
            throw ExportError.readBack(destination: destination, detail: "\(error)")
        }
        for (name, _) in model.parameterShapes {
            guard let a = model.parameter(named: name), let b = target.parameter(named: name) else {
                throw ExportError.readBack(destination: destination, detail: "parameter \(name) is missing")
            }
            guard a.shape == b.shape, a.scalars.elementsEqual(b.scalars, by: { $0.bitPattern == $1.bitPattern }) else {
                throw ExportError.readBack(destination: destination, detail: "parameter \(name) differs")
            }
        }
        let n = evaluationSize(model.config)
        // A target that normalises 0-255 pixels itself (Keras) takes the pixels; the source then
        // gets them as its own preprocessing makes them.
        if target.config.inputTransform != nil && source.config.inputTransform == nil {
            let pixels = Verifier.probeInput(shape: [2, model.config.inputChannels, n, n], rawPixels: true)
            let expected = try Verifier.referenceOutput(source, preprocessed(pixels, source.config.imagePreprocessing))
            var io = target.config
            io.finalSoftmax = source.config.finalSoftmax
            return try Verifier.compare(try target.with(config: io), input: pixels, expected: expected, method: "export-read-back", tolerance: tolerance)
        }
        // Otherwise the caller applies what the target moved out of the model (the report says how).
        var io = target.config
        io.inputTransform = source.config.inputTransform
        io.finalSoftmax = source.config.finalSoftmax
        let probe = Verifier.probeInput(shape: [2, model.config.inputChannels, n, n], rawPixels: source.config.inputTransform != nil)
        let expected = try Verifier.referenceOutput(source, probe)
        return try Verifier.compare(try target.with(config: io), input: probe, expected: expected, method: "export-read-back", tolerance: tolerance)
    }

    /// NCHW 0-255 pixels as `p` prepares them for a model: x * pixelScale, minus mean, over std.
    static func preprocessed(_ pixels: Tensor, _ p: EfficientNetConfig.ImagePreprocessing) -> Tensor {
        let c = pixels.shape[1], plane = pixels.shape[2] * pixels.shape[3]
        var out = pixels
        for i in out.scalars.indices {
            let ch = (i / plane) % c
            out.scalars[i] = (pixels.scalars[i] * p.pixelScale - p.mean[ch]) / p.std[ch]
        }
        return out
    }

    /// The same function with batch norms where an ONNX export folded them: weight 1, bias the
    /// folded bias, mean 0, variance 1 - eps (so that variance + eps is 1).
    static func unfoldingBatchNorm(_ model: EfficientNet, epsilon: Float) throws -> EfficientNet {
        var c = model.config
        let source = c
        c.batchNormFolded = false
        c.bnEpsilon = epsilon
        let folded = ParameterLayout(config: source)
        let layout = ParameterLayout(config: c)
        var tensors: [String: Tensor] = [:]
        for unit in layout.units {
            for leaf in unit.leaves {
                let n = unit.outChannels
                switch leaf {
                case .weight, .bias: tensors[unit.name(leaf)] = model.parameter(named: unit.name(leaf))
                case .bnWeight: tensors[unit.name(leaf)] = Tensor(shape: [n], scalars: .init(repeating: 1, count: n))
                case .bnBias:
                    // Unfolding an unfolded model (a second epsilon) keeps its bias where it is.
                    let bias = source.batchNormFolded ? folded.unit(unit.module)?.name(.bias) : unit.name(leaf)
                    tensors[unit.name(leaf)] = bias.flatMap { model.parameter(named: $0) }
                case .bnMean: tensors[unit.name(leaf)] = Tensor(shape: [n], scalars: .init(repeating: 0, count: n))
                case .bnVar: tensors[unit.name(leaf)] = Tensor(shape: [n], scalars: .init(repeating: 1 - c.bnEpsilon, count: n))
                }
            }
        }
        let out = try EfficientNet(config: c)
        try out.load(tensors, allowNonFinite: true)
        return out
    }
}

extension Converter {
    /// The read-back comparison failed: carries the result out of the writer, which then
    /// commits nothing.
    struct ExportVerificationFailed: Error {
        var result: Verifier.Result
    }

    /// Exports the built model and completes the report; a failed read-back comparison gives a
    /// report with `passed == false` and nothing written.
    static func export(_ model: EfficientNet, mapping: WeightMapping, target: (ExportContainer, FamilyName?), destination: String,
                       options: Options, report: ConversionReport) throws -> ConversionReport {
        var report = report
        do {
            report.export = try export(model, classNames: mapping.classNames, container: target.0, family: target.1,
                                       destination: destination, options: options)
            report.written = true
        } catch let failed as ExportVerificationFailed {
            report.export = ExportSummary(container: target.0, family: target.1, inputConvention: "", verification: failed.result)
            report.verification = failed.result
            report.passed = false
        }
        return report
    }
}

extension EfficientNet {
    /// These weights under another config with the same parameter layout (a changed input
    /// transform or final softmax).
    func with(config: EfficientNetConfig) throws -> EfficientNet {
        let out = try EfficientNet(config: config)
        var weights: [String: Tensor] = [:]
        for (name, _) in parameterShapes { weights[name] = parameter(named: name) }
        try out.load(weights, allowNonFinite: true)
        return out
    }
}

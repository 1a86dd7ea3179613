import ArgumentParser
import CFileSupport
import EffNet
import EffNetCLI
import EffNetInterchange

struct EffnetConvert: JSONReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-convert",
        abstract: "Convert EfficientNet weights between PyTorch, safetensors, Keras, ONNX, TensorFlow and .effw, verified.",
        discussion: """
        SOURCE is recognised by content: PyTorch zip or legacy archives (.pt, .pth,
        .bin, .ckpt), safetensors, Keras HDF5 (.h5, .weights.h5) and .keras archives,
        ONNX (.onnx, external data beside it), TensorFlow checkpoints (a folder with a
        `checkpoint` file, the prefix model.ckpt-N, its .index, or a SavedModel folder),
        and model-hub folders (config.json beside model.safetensors or pytorch_model.bin).

        ONNX sources are verified against their own graph. PyTorch and Keras files
        carry no graph: give a reference pair written by the source framework:

          effnet-convert model.pth model.effw \\
              --check-input x.npy --check-output y.npy

        DEST's name decides what is written: .effw, .pth/.pt/.bin (a PyTorch zip
        archive), .safetensors, .onnx, .weights.h5 (Keras 3), .h5 (Keras 2), or a
        folder (a model-hub folder). --to names the family whose names and
        conventions a PyTorch file or folder takes:

          effnet-convert model.h5 model.pth --to timm-tf

        A model whose conventions the target cannot hold is refused (exit 2) with
        the reason and the targets that can hold it. Every export is read back and
        compared with the model before it is committed.

        --json prints the whole report, or the error, as one JSON document on stdout
        (docs/JSON.md).

        Exit status: 0 written, 1 verification failed (nothing written), 2 unusable
        input.
        """,
        version: EffNetKitVersion.string)

    @Argument(help: "The source checkpoint.")
    var source: String

    @Argument(help: "The file or folder to write (never overwritten without --force); its name decides the file type.")
    var destination: String

    @Option(help: "Naming scheme: auto, seed, torchvision, timm, timm-tf, lukemelas, lite, keras, tf-official.")
    var family: String = "auto"

    @Option(help: "The family DEST is written for: torchvision, timm, timm-tf, lukemelas, lite, hf, seed (PyTorch files and folders), keras.")
    var to: String?

    @Option(name: .customLong("check-input"), help: "NCHW float32 .npy batch in the source model's input convention.")
    var checkInput: String?

    @Option(name: .customLong("check-output"), help: "What the source framework output for --check-input (.npy).")
    var checkOutput: String?

    @Option(help: "Largest accepted max|swift - reference| / max(1, max|reference|).")
    var tolerance: Float = 1e-4

    @Flag(help: "Overwrite DEST if it exists.")
    var force = false

    @Flag(name: .customLong("allow-nonfinite"), help: "Accept NaN/Inf weights.")
    var allowNonFinite = false

    @Option(help: "Storage type in DEST: f32, f16, bf16, or source (keep a half-precision source's type).")
    var dtype: String = "f32"

    @Option(name: .customLong("checkpoint-key"),
            help: "PyTorch: the checkpoint entry holding the weights (e.g. state_dict_ema); default: state_dict, model, state_dict_ema, model_ema, module, in that order.")
    var checkpointKey: String?

    @Option(name: .customLong("image-size"),
            help: "Keras files: the input size the model was built for, N or HxW (a weights-only file does not record it; it fixes the SAME padding).")
    var imageSize: String?

    @Option(name: .customLong("tf-variables"),
            help: "TensorFlow checkpoints: ema (default: the ExponentialMovingAverage copies, which the official evaluation uses, when the checkpoint has them) or raw (the trained variables themselves).")
    var tfVariables: String = "ema"

    @Option(help: "The classifier's layers in order, e.g. linear,relu,dropout,linear (for heads whose activations the weights do not show; docs/CLI.md).")
    var head: String?

    @Option(help: "A JSON map from the file's tensor names to a family's names (weights of your own module; docs/CLI.md).")
    var names: String?

    @Flag(help: "Print only errors.")
    var quiet = false

    @Flag(help: "Print the report (or the error) as one JSON document.")
    var json = false

    func validate() throws {
        if family != "auto" && FamilyName(rawValue: family) == nil {
            throw ValidationError("unknown --family '\(family)'; use auto, \(FamilyName.allCases.filter { $0 != .onnxGraph }.map(\.rawValue).joined(separator: ", "))")
        }
        if let to, FamilyName(rawValue: to) == nil || to == FamilyName.onnxGraph.rawValue || to == FamilyName.tfOfficial.rawValue {
            throw ValidationError("unknown --to '\(to)'; use torchvision, timm, timm-tf, lukemelas, lite, hf, seed or keras")
        }
        if (checkInput == nil) != (checkOutput == nil) {
            throw ValidationError("--check-input and --check-output go together")
        }
        guard Converter.StoragePolicy(rawValue: dtype) != nil else {
            throw ValidationError("unknown --dtype '\(dtype)'; use f32, f16, bf16 or source")
        }
        guard SourceReader.TFVariables(rawValue: tfVariables) != nil else {
            throw ValidationError("unknown --tf-variables '\(tfVariables)'; use ema or raw")
        }
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a non-negative number") }
        if let head {
            do { _ = try HeadSpelling.parse(head) } catch { throw ValidationError("\(error)") }
        }
        if let imageSize, Self.parseImageSize(imageSize) == nil {
            throw ValidationError("--image-size '\(imageSize)' is not N or HxW with sizes from 1 to 65536")
        }
    }

    func run() throws {
        // SIGINT/SIGTERM: "error: DEST: interrupted by SIGINT; nothing was written" (CommandRunner).
        effnet_interrupt_set_context("\(destination): ")
        CommandRunner.files = [source, destination] + [checkInput, checkOutput, names].compactMap { $0 }
        var options = Converter.Options()
        options.family = family == "auto" ? nil : FamilyName(rawValue: family)
        options.read.checkpointKey = checkpointKey
        options.read.tfVariables = SourceReader.TFVariables(rawValue: tfVariables) ?? .ema
        options.target = to.flatMap(FamilyName.init(rawValue:))
        options.checkInput = checkInput
        options.checkOutput = checkOutput
        options.tolerance = tolerance
        options.overwrite = force
        options.allowNonFinite = allowNonFinite
        options.storage = Converter.StoragePolicy(rawValue: dtype) ?? .f32
        options.imageSize = imageSize.flatMap(Self.parseImageSize)
        options.head = try head.map(HeadSpelling.parse)
        options.names = try names.map { try NameMap(path: $0) }
        let report: ConversionReport
        do {
            report = try Converter.convert(source: source, destination: destination, options: options)
        } catch let e as WeightCheckError {
            throw ToolError(CommandRunner.describe(e, file: source))
        }
        if json {
            print(ToolJSON.string(ConvertDocument(report)))
        } else if !quiet {
            print(report.text)
        }
        if report.passed == false, let v = report.verification, report.export != nil {
            CommandRunner.writeError("\(destination): the written file read back with relative error \(v.comparison.relativeError), above the tolerance \(v.tolerance); nothing written")
            throw ExitCode(1)
        }
        if report.passed == false, let v = report.verification {
            CommandRunner.writeError("\(source): verification failed: relative error \(v.comparison.relativeError) exceeds the tolerance \(v.tolerance)\(v.float32Noise.map { " (float32 noise of this model ~\($0))" } ?? "")\(v.firstDivergence.map { "; first divergence at \($0)" } ?? ""); nothing written")
            throw ExitCode(1)
        }
    }
}

extension EffnetConvert {
    func errorDocument(_ message: String) -> String {
        ToolJSON.string(ConvertDocument(source: source, destination: destination, error: message))
    }

    static func errorDocument(_ message: String) -> String {
        ToolJSON.string(ConvertDocument(source: nil, destination: nil, error: message))
    }

    /// "224" -> [224, 224]; "240x320" -> [240, 320]; nil for anything else.
    static func parseImageSize(_ text: String) -> [Int]? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 1 || parts.count == 2, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 65536 }) else { return nil }
        let sizes = parts.compactMap { $0 }
        return sizes.count == 1 ? [sizes[0], sizes[0]] : sizes
    }
}

/// An error whose text is already complete.
struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

CommandRunner.main(EffnetConvert.self)

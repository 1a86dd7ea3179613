import ArgumentParser
import EffNet
import EffNetCLI
import EffNetInterchange
import Foundation
import EffNetImage

struct EffnetPredict: JSONReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-predict",
        abstract: "Run an EfficientNet (.effw or any source effnet-convert reads) on a .npy batch or on images.",
        usage: """
        effnet-predict MODEL --input X.npy [--output Y.npy] [--json]
        effnet-predict MODEL IMAGE... [--top K] [--batch N] [--jpeg-draft] [--json]
        (both: [--threads N] [--family F] [--checkpoint-key KEY] [--allow-nonfinite])
        """,
        discussion: """
        MODEL is an .effw file, or any source effnet-convert reads (PyTorch,
        safetensors, Keras, ONNX), converted in memory and not verified: convert it
        once with effnet-convert and a reference pair to know it is right.

        Tensor mode writes exactly what the source model outputs (logits, or
        probabilities when the source ends in softmax) as a float32 [N, classes]
        .npy:

          effnet-predict model.effw --input x.npy --output y.npy

        Image mode (JPEG, PNG) preprocesses as the model's config says, as the
        source framework does it (torchvision B0: shorter side to 256 with Pillow's
        bicubic, centre crop 224, ImageNet normalisation; docs/PREPROCESSING.md),
        runs the images --batch at a time, and prints the top K classes, with the
        class names stored in the model (effnet-finetune, a hub config's id2label),
        or ImageNet's when the model has 1000 classes:

          effnet-predict model.effw cat.jpg --top 5

        Nothing is printed until every image has been read: a bad image is an
        error naming it, with no partial output. With many images and stderr a
        terminal, a progress line is shown there.

        --json prints the top K of every image or batch row as one JSON document
        (docs/JSON.md); with --input, --output is then optional.
        """,
        version: EffNetKitVersion.string)

    @Argument(help: "The model: .effw, or a PyTorch, safetensors, Keras or ONNX file.")
    var model: String

    @Argument(help: "JPEG or PNG images (image mode).")
    var images: [String] = []

    @Option(help: "NCHW float32 .npy input batch (tensor mode).")
    var input: String?

    @Option(help: "Where to write the [N, classes] float32 .npy output (tensor mode).")
    var output: String?

    @Option(help: "How many classes to print per image or row.")
    var top: Int = 5

    @Option(help: "Images per forward pass (image mode).")
    var batch: Int = 8

    @Option(help: "Threads for decoding and the forward pass (default: all cores).")
    var threads: Int = min(ProcessInfo.processInfo.activeProcessorCount, 256)

    @Flag(name: .customLong("jpeg-draft"),
          help: "Decode large JPEGs reduced by libjpeg's DCT scaling (Pillow's draft()): faster, pixels not exactly torchvision's.")
    var jpegDraft = false

    @Option(help: "Sources other than .effw: the naming scheme, as effnet-convert's --family.")
    var family: String = "auto"

    @Option(name: .customLong("checkpoint-key"), help: "PyTorch sources: the checkpoint entry holding the weights.")
    var checkpointKey: String?

    @Flag(name: .customLong("allow-nonfinite"), help: "Accept NaN/Inf weights.")
    var allowNonFinite = false

    @Flag(help: "Print the results (or the error) as one JSON document.")
    var json = false

    func validate() throws {
        if input != nil || output != nil {
            guard input != nil, output != nil || json else { throw ValidationError("--input and --output go together (--output is optional with --json)") }
            guard images.isEmpty else { throw ValidationError("give either --input/--output or images, not both") }
        } else if images.isEmpty {
            throw ValidationError("give --input X.npy --output Y.npy, or one or more images")
        }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard (1 ... 1024).contains(batch) else { throw ValidationError("--batch must be in 1...1024") }
        guard (1 ... 256).contains(threads) else { throw ValidationError("--threads must be in 1...256") }
        if family != "auto" && FamilyName(rawValue: family) == nil {
            throw ValidationError("unknown --family '\(family)'; use auto, \(FamilyName.allCases.filter { $0 != .onnxGraph }.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        CommandRunner.files = [model] + images + [input, output].compactMap { $0 }
        let loaded = try ModelLoader.load(model, family: family == "auto" ? nil : FamilyName(rawValue: family),
                                          checkpointKey: checkpointKey, allowNonFinite: allowNonFinite)
        let net = loaded.model
        net.inferenceOptions.threads = threads
        // Class names stored in the file (effnet-finetune, a hub config's id2label), else ImageNet's
        // for 1000-class models.
        let names = loaded.classNames ?? (net.config.numClasses == 1000 ? ImageNetClasses.names : nil)
        var document = PredictDocument(model: model, format: loaded.format, family: loaded.family, classes: net.config.numClasses)
        if let input {
            let x = try NPY.readTensor(path: input)
            do { try net.validateInput(shape: x.shape) } catch { throw ToolError("\(input): \(error)") }
            let y = try net(x)
            if let output {
                try NPY.write(y, to: output)
                document.output = output
            }
            if json {
                let classes = y.shape.last ?? 1
                for row in 0 ..< (y.shape.first ?? 0) {
                    var p = Tensor(shape: [classes], scalars: Array(y.scalars[row * classes ..< (row + 1) * classes]))
                    if !net.config.finalSoftmax { softmax(&p) }
                    document.results.append(.init(input: input, row: row, top: PredictDocument.top(p.scalars, k: top, names: names)))
                }
                print(ToolJSON.string(document))
            }
            return
        }
        let preprocessor = ImagePreprocessor(net.config.imagePreprocessing)
        do { try preprocessor.validate() } catch { throw ToolError("\(model): \(error)") }
        let progress = ProgressLine(total: images.count, enabled: isatty(2) != 0 && images.count >= 2 * batch)
        var text = ""
        for start in stride(from: 0, to: images.count, by: batch) {
            let paths = Array(images[start ..< min(start + batch, images.count)])
            let x = try preprocessor.tensor(fromFiles: paths, threads: threads, draftJPEG: jpegDraft)
            let y = try net(x)
            let classes = y.shape.last ?? 1
            for (row, path) in paths.enumerated() {
                var p = Tensor(shape: [classes], scalars: Array(y.scalars[row * classes ..< (row + 1) * classes]))
                if !net.config.finalSoftmax { softmax(&p) }
                let best = PredictDocument.top(p.scalars, k: top, names: names)
                if json {
                    document.results.append(.init(input: path, row: 0, top: best))
                    continue
                }
                text += "\(path):\n"
                for c in best {
                    text += String(format: "  %5d  %.4f", c.index, Double(c.probability ?? .nan)) + (c.name.map { "  \($0)" } ?? "") + "\n"
                }
            }
            progress.update(start + paths.count)
        }
        progress.finish()
        if json { print(ToolJSON.string(document)) } else { print(text, terminator: "") }
    }

    func errorDocument(_ message: String) -> String {
        var d = PredictDocument(model: model)
        d.error = message
        return ToolJSON.string(d)
    }

    static func errorDocument(_ message: String) -> String {
        var d = PredictDocument(model: nil)
        d.error = message
        return ToolJSON.string(d)
    }

    private func softmax(_ t: inout Tensor) {
        let m = t.scalars.max() ?? 0
        var sum: Float = 0
        for i in t.scalars.indices { t.scalars[i] = expf(t.scalars[i] - m); sum += t.scalars[i] }
        for i in t.scalars.indices { t.scalars[i] /= sum }
    }
}

/// "images 120/400" rewritten in place on stderr (only when it is a terminal), cleared at the end.
struct ProgressLine {
    let total: Int
    let enabled: Bool

    func update(_ done: Int) {
        guard enabled else { return }
        let width = 30, filled = total > 0 ? done * width / total : width
        CommandRunner.writeStderr("\rimages [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)")
    }

    func finish() {
        if enabled { CommandRunner.writeStderr("\r\u{1B}[K") }
    }
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

CommandRunner.main(EffnetPredict.self)

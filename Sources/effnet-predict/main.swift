import ArgumentParser
import EffNet
import EffNetCLI
import Foundation
import ImageIO

struct EffnetPredict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-predict",
        abstract: "Run an .effw EfficientNet on a .npy batch or on images.",
        discussion: """
        Tensor mode writes exactly what the source model outputs (logits, or probabilities when the
        source ends in softmax) as a float32 [N, classes] .npy:

            effnet-predict model.effw --input x.npy --output y.npy

        Image mode (JPEG, PNG) preprocesses as the model's config says (PyTorch models: shorter side
        to 256, centre crop 224, ImageNet normalisation) and prints the top K classes, with ImageNet
        names when the model has 1000 classes:

            effnet-predict model.effw cat.jpg --top 5
        """)

    @Argument(help: "The .effw model.")
    var model: String

    @Argument(help: "JPEG or PNG images (image mode).")
    var images: [String] = []

    @Option(help: "NCHW float32 .npy input batch (tensor mode).")
    var input: String?

    @Option(help: "Where to write the [N, classes] float32 .npy output (tensor mode).")
    var output: String?

    @Option(help: "How many classes to print per image.")
    var top: Int = 5

    @Flag(name: .customLong("allow-nonfinite"), help: "Accept NaN/Inf weights.")
    var allowNonFinite = false

    func validate() throws {
        if input != nil || output != nil {
            guard input != nil, output != nil else { throw ValidationError("--input and --output go together") }
            guard images.isEmpty else { throw ValidationError("give either --input/--output or images, not both") }
        } else if images.isEmpty {
            throw ValidationError("give --input X.npy --output Y.npy, or one or more images")
        }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        CommandRunner.files = [model] + images + [input, output].compactMap { $0 }
        let net = try EfficientNet(contentsOf: URL(fileURLWithPath: model), allowNonFinite: allowNonFinite)
        if let input, let output {
            let x = try NPY.readTensor(path: input)
            do { try net.validateInput(shape: x.shape) } catch { throw ToolError("\(input): \(error)") }
            let y = try net(x)
            try NPY.write(y, to: output)
            return
        }
        let preprocessor = ImagePreprocessor(net.config.imagePreprocessing)
        do { try preprocessor.validate() } catch { throw ToolError("\(model): \(error)") }
        for path in images {
            let image = try ImageDecoder.decode(path: path)
            let x = preprocessor.tensor(from: image)
            var y = try net(x)
            if !net.config.finalSoftmax { softmax(&y) }
            let probs = Array(y.scalars)
            print("\(path):")
            for c in Comparison.topK(probs, min(top, probs.count)) {
                let name = probs.count == 1000 ? "  \(ImageNetClasses.names[c])" : ""
                print(String(format: "  %5d  %.4f", c, Double(probs[c])) + name)
            }
        }
    }

    private func softmax(_ t: inout Tensor) {
        let m = t.scalars.max() ?? 0
        var sum: Float = 0
        for i in t.scalars.indices { t.scalars[i] = expf(t.scalars[i] - m); sum += t.scalars[i] }
        for i in t.scalars.indices { t.scalars[i] /= sum }
    }
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

CommandRunner.main(EffnetPredict.self)

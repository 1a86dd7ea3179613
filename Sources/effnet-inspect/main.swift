import ArgumentParser
import EffNet
import EffNetCLI

struct EffnetInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-inspect",
        abstract: "Show what an EfficientNet weights file holds, without converting it.",
        discussion: """
        Reads .effw, PyTorch (.pt/.pth/.bin/.ckpt, zip or legacy), safetensors,
        Keras (.h5, .weights.h5, .keras), ONNX files, TensorFlow checkpoints (a
        checkpoint folder, prefix, .index or SavedModel folder) and model-hub folders,
        recognised by content. Prints tensors, dtypes, shapes, the parameter count,
        the detected family and variant, the model config per stage and (for .effw)
        the provenance.

          effnet-inspect model.effw
          effnet-inspect checkpoint.pth --json
        """,
        version: EffNetKitVersion.string)

    @Argument(help: "The file (or TensorFlow checkpoint folder or prefix) to inspect.")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        CommandRunner.files = [file]
        let inspection = try Inspection.of(path: file)
        print(json ? inspection.json : inspection.text)
    }
}

CommandRunner.main(EffnetInspect.self)

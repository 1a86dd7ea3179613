import ArgumentParser
import EffNet
import EffNetCLI
import EffNetInterchange

struct EffnetDiff: JSONReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-diff",
        abstract: "Compare two EfficientNet weight files of any format and family.",
        usage: """
        effnet-diff A B [--input X.npy] [--tolerance T] [--stage-tolerance S]
                    [--family-a F] [--family-b F] [--json]
        """,
        discussion: """
        Both files (.effw, PyTorch, safetensors, Keras, ONNX) are mapped onto EffNet's
        canonical tensor names, then compared tensor by tensor: the largest absolute
        difference, the largest difference relative to the larger magnitude, the
        shapes, and the tensors only one file has.

        With --input X.npy (NCHW float32) both models run on X: the difference of
        their outputs, and the first stage (stem, blocks.i, head, logits) where the
        activations part by more than --stage-tolerance:

          effnet-diff model.pth model.effw --input x.npy

        Exit status: 0 identical (every tensor within --tolerance, none one-sided,
        outputs agreeing), 1 different, 2 unusable input.
        """,
        version: EffNetKitVersion.string)

    @Argument(help: "The first weight file (A).")
    var a: String

    @Argument(help: "The second weight file (B).")
    var b: String

    @Option(help: "NCHW float32 .npy batch to run both models on.")
    var input: String?

    @Option(help: "Largest max |a - b| for a tensor to count as the same.")
    var tolerance: Float = 0

    @Option(name: .customLong("stage-tolerance"), help: "Largest relative difference of an activation before the models part.")
    var stageTolerance: Float = 1e-4

    @Option(name: .customLong("family-a"), help: "A's naming scheme, as effnet-convert's --family; auto detects it.")
    var familyA: String = "auto"

    @Option(name: .customLong("family-b"), help: "B's naming scheme; auto detects it.")
    var familyB: String = "auto"

    @Flag(help: "Print the comparison (or the error) as one JSON document.")
    var json = false

    func validate() throws {
        for (flag, value) in [("--family-a", familyA), ("--family-b", familyB)] where value != "auto" && FamilyName(rawValue: value) == nil {
            throw ValidationError("unknown \(flag) '\(value)'; use auto, \(FamilyName.allCases.filter { $0 != .onnxGraph }.map(\.rawValue).joined(separator: ", "))")
        }
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a non-negative number") }
        guard stageTolerance.isFinite, stageTolerance >= 0 else { throw ValidationError("--stage-tolerance must be a non-negative number") }
    }

    func run() throws {
        let wa = try Converter.canonicalWeights(source: a, family: familyA == "auto" ? nil : FamilyName(rawValue: familyA), allowNonFinite: true)
        let wb = try Converter.canonicalWeights(source: b, family: familyB == "auto" ? nil : FamilyName(rawValue: familyB), allowNonFinite: true)
        var x: (String, Tensor)?
        if let input {
            let t = try NPY.readTensor(path: input)
            guard t.rank == 4 else { throw DiffError("\(input): --input must be NCHW, got shape \(t.shape)") }
            x = (input, t)
        }
        let diff = try WeightDiff(wa, wb, tolerance: tolerance, input: x, stageTolerance: stageTolerance)
        print(json ? ToolJSON.string(diff) : diff.text)
        if !diff.identical { throw ExitCode(1) }
    }

    func errorDocument(_ message: String) -> String { ToolJSON.string(WeightDiff(error: message)) }
    static func errorDocument(_ message: String) -> String { ToolJSON.string(WeightDiff(error: message)) }
}

CommandRunner.main(EffnetDiff.self)

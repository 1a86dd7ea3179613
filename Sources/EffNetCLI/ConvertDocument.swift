import EffNet
import EffNetInterchange

/// effnet-convert --json: the whole conversion report as one document (docs/JSON.md,
/// Schemas/convert.schema.json). Also the document of a failed conversion, with `error` set.
public struct ConvertDocument: Encodable {
    public static let schema = "effnet-convert/2"

    public struct Model: Encodable {
        public var name: String
        public var blocks: Int
        public var headChannels: Int
        public var numClasses: Int
        public var bnEpsilon: Float
        public var padding: String
        public var imageSize: [Int]?
        public var activation: String
        public var finalSoftmax: Bool

        public init(_ c: EfficientNetConfig) {
            name = c.name; blocks = c.blocks.count; headChannels = c.headChannels; numClasses = c.numClasses
            bnEpsilon = c.bnEpsilon; padding = c.padding.mode.rawValue; imageSize = c.padding.imageSize
            activation = c.activation.rawValue; finalSoftmax = c.finalSoftmax
        }

        enum CodingKeys: String, CodingKey {
            case name, blocks, headChannels, numClasses, bnEpsilon, padding, imageSize, activation, finalSoftmax
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(blocks, forKey: .blocks)
            try c.encode(headChannels, forKey: .headChannels); try c.encode(numClasses, forKey: .numClasses)
            try c.encode(bnEpsilon, forKey: .bnEpsilon); try c.encode(padding, forKey: .padding)
            try c.encode(imageSize, forKey: .imageSize); try c.encode(activation, forKey: .activation)
            try c.encode(finalSoftmax, forKey: .finalSoftmax)
        }
    }

    /// One source tensor and what the conversion did with it.
    public struct TensorFateLine: Encodable {
        public var source: String
        /// "mapped", "skipped" or "unused".
        public var fate: String
        public var canonical: String?
        public var transform: String?
        public var reason: String?

        enum CodingKeys: String, CodingKey { case source, fate, canonical, transform, reason }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(source, forKey: .source); try c.encode(fate, forKey: .fate)
            try c.encode(canonical, forKey: .canonical); try c.encode(transform, forKey: .transform)
            try c.encode(reason, forKey: .reason)
        }
    }

    public struct Check: Encodable {
        public var family: String
        public var method: String
        public var inputShape: [Int]
        public var maxAbsError: Float?
        public var relativeError: Float?
        public var tolerance: Float
        public var top1Agreement: Float
        public var top5Agreement: Float
        public var passed: Bool
        public var firstDivergence: String?
        /// Wall time of the check, seconds.
        public var seconds: Double?

        enum CodingKeys: String, CodingKey {
            case family, method, inputShape, maxAbsError, relativeError, tolerance, top1Agreement, top5Agreement, passed, firstDivergence,
                 seconds
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(family, forKey: .family); try c.encode(method, forKey: .method)
            try c.encode(inputShape, forKey: .inputShape); try c.encode(maxAbsError, forKey: .maxAbsError)
            try c.encode(relativeError, forKey: .relativeError); try c.encode(tolerance, forKey: .tolerance)
            try c.encode(top1Agreement, forKey: .top1Agreement); try c.encode(top5Agreement, forKey: .top5Agreement)
            try c.encode(passed, forKey: .passed); try c.encode(firstDivergence, forKey: .firstDivergence)
            try c.encode(seconds, forKey: .seconds)
        }
    }

    public struct Verification: Encodable {
        /// "passed", "failed" or "unverified".
        public var status: String
        /// Why nothing was verified, when nothing was.
        public var reason: String?
        /// Every comparison made, the chosen family's first.
        public var checks: [Check]

        enum CodingKeys: String, CodingKey { case status, reason, checks }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status); try c.encode(reason, forKey: .reason); try c.encode(checks, forKey: .checks)
        }
    }

    /// What an export wrote (DEST a framework's file): the container, the family, what the
    /// written model takes as input, and the read-back check.
    public struct Export: Encodable {
        public var container: String
        public var family: String?
        /// True when the written model takes 0-255 pixels itself.
        public var takesPixels: Bool
        /// Else: the mean and std on 0-1 pixels the caller normalises with.
        public var mean: [Float]?
        public var std: [Float]?
        public var inputSize: Int
        public var input: String
        public var readBack: Check?
        public var notes: [String]

        enum CodingKeys: String, CodingKey { case container, family, takesPixels, mean, std, inputSize, input, readBack, notes }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(container, forKey: .container); try c.encode(family, forKey: .family)
            try c.encode(takesPixels, forKey: .takesPixels); try c.encode(mean, forKey: .mean); try c.encode(std, forKey: .std)
            try c.encode(inputSize, forKey: .inputSize); try c.encode(input, forKey: .input)
            try c.encode(readBack, forKey: .readBack); try c.encode(notes, forKey: .notes)
        }
    }

    public var source: String?
    public var destination: String?
    public var export: Export?
    public var format: String?
    public var family: String?
    public var model: Model?
    public var tensors: [TensorFateLine] = []
    public var verification: Verification?
    public var notes: [String] = []
    /// The .effw written, or null when nothing was.
    public var written: String?
    /// 0 written, 1 verification failed, 2 unusable input (the tool's exit status).
    public var exitStatus: Int
    public var error: String?

    /// The document of a finished conversion (written, or refused because verification failed).
    public init(_ r: ConversionReport) {
        source = r.source; destination = r.destination; format = r.format.rawValue; family = r.family
        model = r.config.map(Model.init)
        tensors = r.fates.map { line in
            switch line.fate {
            case let .mapped(canonical, transform):
                return TensorFateLine(source: line.source, fate: "mapped", canonical: canonical,
                                      transform: transform == .identity ? nil : "\(transform)", reason: nil)
            case let .skipped(reason): return TensorFateLine(source: line.source, fate: "skipped", reason: reason)
            case let .unused(reason): return TensorFateLine(source: line.source, fate: "unused", reason: reason)
            }
        }
        func check(_ family: String, _ v: Verifier.Result) -> Check {
            Check(family: family, method: v.method, inputShape: v.inputShape, maxAbsError: ToolJSON.finite(v.comparison.maxAbsError),
                  relativeError: ToolJSON.finite(v.comparison.relativeError), tolerance: v.tolerance,
                  top1Agreement: v.comparison.top1Agreement, top5Agreement: v.comparison.top5Agreement,
                  passed: v.passed, firstDivergence: v.firstDivergence, seconds: v.seconds)
        }
        let checks = r.verifications.map { check($0.family, $0.result) }
        if let e = r.export {
            export = Export(container: e.container.rawValue, family: e.family?.rawValue, takesPixels: e.normalisation == nil,
                            mean: e.normalisation?.mean, std: e.normalisation?.std, inputSize: e.inputSize, input: e.inputConvention,
                            readBack: e.verification.map { check(e.family?.rawValue ?? "onnx", $0) }, notes: e.notes)
        }
        let status = r.passed.map { $0 ? "passed" : "failed" } ?? "unverified"
        verification = Verification(status: status, reason: r.unverifiedReason, checks: checks)
        notes = r.notes
        written = r.written ? r.destination : nil
        exitStatus = r.passed == false ? 1 : 0
        if r.passed == false, let v = r.verification {
            error = "\(r.source): verification failed: relative error \(v.comparison.relativeError) exceeds the tolerance \(v.tolerance)\(v.firstDivergence.map { "; first divergence at \($0)" } ?? ""); nothing written"
        }
    }

    /// The document of a conversion that could not run (unusable input or command line).
    public init(source: String?, destination: String?, error: String) {
        self.source = source; self.destination = destination; self.error = error; exitStatus = 2
    }

    enum CodingKeys: String, CodingKey {
        case schema, tool, version, source, destination, format, family, model, tensors, verification, notes, written, exitStatus, error, export
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema); try c.encode("effnet-convert", forKey: .tool)
        try c.encode(EffNetKitVersion.string, forKey: .version)
        try c.encode(source, forKey: .source); try c.encode(destination, forKey: .destination)
        try c.encode(format, forKey: .format); try c.encode(family, forKey: .family); try c.encode(model, forKey: .model)
        try c.encode(tensors, forKey: .tensors); try c.encode(verification, forKey: .verification)
        try c.encode(notes, forKey: .notes); try c.encode(written, forKey: .written)
        try c.encode(exitStatus, forKey: .exitStatus); try c.encode(error, forKey: .error)
        try c.encode(export, forKey: .export)
    }
}

import EffNet

/// Runs the converted Swift model against an independent reference and judges the result.
public enum Verifier {
    /// The outcome of one comparison.
    public struct Result: Sendable, Codable, Equatable {
        /// "onnx-graph" (the source graph through the reference interpreter) or "reference-pair"
        /// (--check-input / --check-output from the user's framework).
        public var method: String
        public var comparison: Comparison
        public var tolerance: Float
        public var inputShape: [Int]
        /// Where the numbers first part, when the reference exposes intermediate activations.
        public var firstDivergence: String?
        /// How far float32 arithmetic alone moves this model's output on this input: the fast
        /// float32 path against the verification pass, relative as `comparison`. A reference written
        /// by a float32 framework carries noise of about this size, so an error near it is rounding,
        /// while one far above it is a real difference. nil when not measured.
        public var float32Noise: Float?
        /// Wall time of this check: the reference's own run (an ONNX graph through the
        /// interpreter), the verification pass and the noise estimate. nil when not measured.
        public var seconds: Double?

        public var passed: Bool { comparison.relativeError <= tolerance }

        public var provenanceRecord: Provenance.Verification {
            .init(method: method, passed: passed, maxAbsError: comparison.maxAbsError,
                  relativeError: comparison.relativeError, tolerance: tolerance, top1Agreement: comparison.top1Agreement)
        }
    }

    /// Compares the model's output on `input` with `expected`. The model runs as the verification
    /// pass (`EfficientNet.float64Forward`: the reference kernels with activations in Double; its logits
    /// equal a float64 run's once rounded to float32), then once more on the fast float32 path to estimate the float32 noise
    /// of this model (`float32Noise`).
    /// - Throws: `VerificationError.shape` when the shapes cannot be compared; model errors.
    public static func compare(_ model: EfficientNet, input: Tensor, expected: Tensor, method: String,
                               tolerance: Float) throws -> Result {
        let actual = try referenceOutput(model, input)
        guard actual.shape == expected.shape else {
            throw VerificationError.shape(method: method, expected: expected.shape, actual: actual.shape)
        }
        var result = Result(method: method, comparison: Comparison(actual: actual, reference: expected),
                            tolerance: tolerance, inputShape: input.shape)
        result.float32Noise = try float32Noise(model, input, reference: actual)
        return result
    }

    /// The verification pass's output.
    public static func referenceOutput(_ model: EfficientNet, _ input: Tensor) throws -> Tensor {
        try model.float64Forward(input)
    }

    /// The fast float32 path's relative error against `reference` (the verification pass's output
    /// for `input`). The model's inference options are restored before returning.
    static func float32Noise(_ model: EfficientNet, _ input: Tensor, reference: Tensor) throws -> Float {
        let saved = model.inferenceOptions
        defer { model.inferenceOptions = saved }
        var options = saved
        options.kernels = .fast
        model.inferenceOptions = options
        return Comparison(actual: try model(input), reference: reference).relativeError
    }

    /// A deterministic probe batch in the model's input convention: roughly N(0,1) for models that
    /// take normalised input, uniform 0...255 for models that normalise inside (Keras).
    public static func probeInput(shape: [Int], rawPixels: Bool, seed: UInt64 = 0x5eed) -> Tensor {
        var state = seed
        func next() -> Float {
            // splitmix64 -> [0, 1)
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24)
        }
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: n)
        for i in 0 ..< n {
            if rawPixels {
                v[i] = (next() * 255).rounded()
            } else {
                // Sum of 4 uniforms, centred and scaled: close to N(0, 1), bounded.
                let s = next() + next() + next() + next()
                v[i] = (s - 2) * 1.7320508
            }
        }
        return Tensor(shape: shape, scalars: v)
    }
}

public enum VerificationError: Error, Equatable, CustomStringConvertible {
    case shape(method: String, expected: [Int], actual: [Int])
    case referenceInput(path: String, detail: String)

    public var description: String {
        switch self {
        case let .shape(method, expected, actual):
            return "\(method): the reference output has shape \(expected) but the converted model gives \(actual)"
        case let .referenceInput(path, detail): return "\(path): \(detail)"
        }
    }
}

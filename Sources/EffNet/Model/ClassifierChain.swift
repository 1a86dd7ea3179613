import Foundation

/// The classifier on pooled features, computed in Double: one Linear layer, or the config's
/// `classifierChain` (a fine-tuned head: Linear, BatchNorm, activations, Dropout/Flatten as
/// no-ops, Softmax). Both the reference pass and the fast path run it (the fast path multiplies a
/// single Linear on its GEMM tiles instead); it holds the model's tensors, not copies.
struct ClassifierChain: Sendable {
    enum Step: Sendable {
        case linear(weight: [Float], bias: [Float], outputs: Int)
        /// y = (x - mean) / sqrt(var + eps) * weight + bias, per feature.
        case batchNorm(weight: [Float], bias: [Float], mean: [Float], variance: [Float], epsilon: Double)
        case activation(EfficientNetConfig.ClassifierLayer.Kind)
    }

    let steps: [Step]
    /// Features out of the chain (the classes).
    let outputs: Int

    /// - Parameter override: another chain with the same weighted layers at the same positions
    ///   (only the parameter-free layers differ), run on this model's tensors.
    init(model: EfficientNet, chain override: [EfficientNetConfig.ClassifierLayer]? = nil) {
        var config = model.config
        if let override { config.classifierChain = override }
        self.init(config: config) { model.parameter($0)?.scalars }
    }

    /// - Parameter parameter: the parameter in a role (nil when absent), from wherever the
    ///   caller keeps them (the model's arrays, or a mapped file while a plan is built).
    init(config c: EfficientNetConfig, parameter: (ParameterLayout.Role) -> [Float]?) {
        guard let chain = c.classifierChain else {
            let w = parameter(.init(.classifier, .weight)) ?? [], b = parameter(.init(.classifier, .bias)) ?? []
            steps = [.linear(weight: w, bias: b, outputs: c.numClasses)]
            outputs = c.numClasses
            return
        }
        var steps: [Step] = []
        for (k, l) in chain.enumerated() {
            let m = ParameterLayout.Module.classifierLayer(k)
            func p(_ leaf: ParameterLayout.Leaf) -> [Float] { parameter(.init(m, leaf)) ?? [] }
            switch l.kind {
            case .linear: steps.append(.linear(weight: p(.weight), bias: p(.bias), outputs: l.outFeatures ?? 0))
            case .batchNorm:
                // PyTorch's eps is a decimal literal used as a double (see ReferenceKernels).
                let eps = Double("\(l.epsilon ?? 1e-5)") ?? 1e-5
                steps.append(.batchNorm(weight: p(.bnWeight), bias: p(.bnBias), mean: p(.bnMean), variance: p(.bnVar), epsilon: eps))
            case .dropout, .flatten: continue
            default: steps.append(.activation(l.kind))
            }
        }
        self.steps = steps
        outputs = c.numClasses
    }

    /// [rows, features] in, [rows, outputs] out.
    func apply(_ input: [Double], rows n: Int) -> [Double] {
        var x = input
        for step in steps {
            switch step {
            case let .linear(w, b, outputs):
                x = ReferenceKernels.linear(x, rows: n, weight: w, outputs: outputs, bias: b)
            case let .batchNorm(w, b, mean, variance, eps):
                let width = w.count
                for r in 0 ..< n { for c in 0 ..< width {
                    let i = r * width + c
                    x[i] = (x[i] - Double(mean[c])) / (Double(variance[c]) + eps).squareRoot() * Double(w[c]) + Double(b[c])
                } }
            case let .activation(kind):
                let width = n > 0 ? x.count / n : 0
                switch kind {
                case .relu: x = x.map { max(0, $0) }
                case .silu: x = x.map { $0 / (1 + exp(-$0)) }
                case .gelu: x = x.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
                case .sigmoid: x = x.map { 1 / (1 + exp(-$0)) }
                case .softmax:
                    for r in 0 ..< n {
                        let row = r * width ..< (r + 1) * width
                        let m = x[row].max() ?? 0
                        var sum = 0.0
                        for i in row { x[i] = exp(x[i] - m); sum += x[i] }
                        for i in row { x[i] /= sum }
                    }
                default: break
                }
            }
        }
        return x
    }
}

extension EfficientNet {
    /// The classifier alone (one Linear, or the config's classifier chain) on pooled features,
    /// as `pooledFeatures(_:)` gives them: [N, headChannels] -> [N, classes] (probabilities when
    /// the config ends in softmax). Computed in Double, rounded once.
    /// - Throws: `InputShapeError` when the features are not [N, headChannels].
    public func classify(pooledFeatures x: Tensor) throws -> Tensor {
        guard x.rank == 2, x.shape[0] >= 1, x.shape[1] == config.headChannels else {
            throw InputShapeError(shape: x.shape, reason: "expected pooled features [N, \(config.headChannels)]")
        }
        let chain = ClassifierChain(model: self)
        var y = Tensor(shape: [x.shape[0], chain.outputs], scalars: chain.apply(x.scalars.map(Double.init), rows: x.shape[0]).map { Float($0) })
        if config.finalSoftmax { ReferenceKernels.softmax(&y) }
        return y
    }

    /// `classify(pooledFeatures:)` with another classifier chain that differs from the config's
    /// only in parameter-free layers (activations, Dropout, Flatten, a final Softmax): how a
    /// converter tries the chains a file leaves open without running the network once per chain.
    /// - Throws: `InputShapeError` for features that are not [N, headChannels]; `ConfigError`
    ///   when `chain` does not have the config's weighted layers at the same positions.
    public func classify(pooledFeatures x: Tensor, chain: [EfficientNetConfig.ClassifierLayer]) throws -> Tensor {
        guard x.rank == 2, x.shape[0] >= 1, x.shape[1] == config.headChannels else {
            throw InputShapeError(shape: x.shape, reason: "expected pooled features [N, \(config.headChannels)]")
        }
        let own = config.classifierChain ?? []
        func weighted(_ c: [EfficientNetConfig.ClassifierLayer]) -> [Int: EfficientNetConfig.ClassifierLayer] {
            var d: [Int: EfficientNetConfig.ClassifierLayer] = [:]
            for (k, l) in c.enumerated() where l.kind == .linear || l.kind == .batchNorm { d[k] = l }
            return d
        }
        guard !own.isEmpty, weighted(own) == weighted(chain) else {
            throw ConfigError.invalid("\(config.name): the chain \(chain.map(\.kind.rawValue)) does not have the model's weighted classifier layers")
        }
        let c = ClassifierChain(model: self, chain: chain)
        var y = Tensor(shape: [x.shape[0], c.outputs], scalars: c.apply(x.scalars.map(Double.init), rows: x.shape[0]).map { Float($0) })
        if config.finalSoftmax { ReferenceKernels.softmax(&y) }
        return y
    }
}

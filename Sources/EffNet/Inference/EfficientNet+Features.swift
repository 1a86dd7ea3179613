extension EfficientNet {
    /// The pooled features of a batch: the head's output (1x1 convolution, batch norm,
    /// activation) averaged over the image, just before the classifier: [N, headChannels].
    /// This is what a new classifier trains on when the backbone is frozen (EffNetTraining).
    /// Runs on the fast path with `inferenceOptions`' threads (images of a batch side by side),
    /// or on the reference kernels when those are selected; both give the classifier's input,
    /// so `classifier(pooledFeatures(x))` equals `self(x)` for models without a final softmax.
    /// - Throws: `InputShapeError` when the input is unusable or too small for some convolution.
    public func pooledFeatures(_ input: Tensor) throws -> Tensor {
        let options = inferenceOptions
        if options.kernels == .fast { return try fastForward(input, options: options, observe: nil, pooledOnly: true) }
        var head: Tensor?
        _ = try forward(input) { name, t in if name == "head" { head = t } }
        guard let head else { preconditionFailure("the reference forward pass observes \"head\"") }
        return ReferenceKernels.globalAveragePool(head)
    }
}

extension FastForward {
    /// The first `headChannels` of each image's padded feature row, as [N, headChannels].
    func pooled(_ features: UnsafeMutablePointer<Float>, count n: Int) -> Tensor {
        let stride = plan.head.matrix.np, channels = plan.head.matrix.n
        var out = [Float](repeating: 0, count: n * channels)
        for i in 0 ..< n { for c in 0 ..< channels { out[i * channels + c] = features[i * stride + c] } }
        return Tensor(shape: [n, channels], scalars: out)
    }
}

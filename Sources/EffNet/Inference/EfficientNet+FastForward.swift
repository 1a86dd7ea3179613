extension EfficientNet {
    /// The fast forward pass (see `FastForward`); `forward(_:observe:)` dispatches here unless
    /// `inferenceOptions.kernels` is `.reference`. Same contract: [N, classes] out, and with
    /// `observe` the NCHW activations after the stem, every block and the head, then the logits.
    /// `pooledOnly` returns the pooled features [N, headChannels] instead of the logits.
    /// - Throws: `InputShapeError` when the input is unusable or too small for some convolution.
    func fastForward(_ input: Tensor, options: InferenceOptions, observe: ((String, Tensor) -> Void)?,
                     pooledOnly: Bool = false) throws -> Tensor {
        try validateInput(shape: input.shape)
        let plan = inferenceState.plan(for: self)
        // A lone image has its layers split over the threads, each of which holds only its share
        // of an expanded activation in its cache: fuse only where that share is too big.
        let splitThreads = input.shape[0] == 1 ? max(1, options.threads) : 1
        let (fuseAbove, overflow) = options.fuseBlocksAboveBytes.multipliedReportingOverflow(by: splitThreads)
        let geometry = try InferenceGeometry(plan: plan, height: input.shape[2], width: input.shape[3],
                                             fuseAbove: overflow ? Int.max : fuseAbove)
        let recorder = observe == nil ? nil : StageRecorder(plan: plan, geometry: geometry, batch: input.shape[0])
        let pass = FastForward(plan: plan, geometry: geometry, threads: max(1, options.threads))
        let logits = pass.run(input, state: inferenceState, recorder: recorder, pooledOnly: pooledOnly)
        if let observe, let recorder {
            for (name, t) in recorder.tensors() { observe(name, t) }
            observe("logits", logits)
        }
        return logits
    }
}

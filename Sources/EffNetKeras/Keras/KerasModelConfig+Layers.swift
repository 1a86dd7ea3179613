/// Typed access to the layer settings the conversion reads, in both Keras 2 and Keras 3
/// spellings.
extension KerasModelConfig.Layer {
    /// `strides` as [h, w] (an int means both).
    public var strides: [Int]? { Self.pair(config["strides"]) }
    /// `kernel_size` as [h, w].
    public var kernelSize: [Int]? { Self.pair(config["kernel_size"]) }
    /// Conv padding mode: "same" or "valid".
    public var paddingMode: String? { config["padding"]?.string }
    /// "swish", "silu", "relu6", "softmax", "linear", ... (nil when absent or not a string).
    public var activation: String? { config["activation"]?.string }
    public var epsilon: Double? { config["epsilon"]?.number }
    /// "channels_last" or "channels_first" when the layer says.
    public var dataFormat: String? { config["data_format"]?.string }

    /// ZeroPadding2D's padding as ((top, bottom), (left, right)); Keras accepts an int, a pair
    /// (symmetric height, width) or a pair of pairs.
    public var zeroPadding: (top: Int, bottom: Int, left: Int, right: Int)? {
        guard let p = config["padding"] else { return nil }
        if let n = p.int { return (n, n, n, n) }
        guard let a = p.array, a.count == 2 else { return nil }
        if let h = a[0].int, let w = a[1].int { return (h, h, w, w) }
        guard let h = a[0].array?.compactMap(\.int), let w = a[1].array?.compactMap(\.int), h.count == 2, w.count == 2 else { return nil }
        return (h[0], h[1], w[0], w[1])
    }

    private static func pair(_ v: KerasJSON?) -> [Int]? {
        guard let v else { return nil }
        if let n = v.int { return [n, n] }
        guard let a = v.array?.compactMap(\.int), a.count == 2 else { return nil }
        return a
    }
}

extension KerasModelConfig {
    /// The first InputLayer's shape without the batch dimension ([H, W, C] for images); nil
    /// entries are dimensions left free (None). Keras 3 spells it `batch_shape`, Keras 2
    /// `batch_input_shape`.
    public var inputShape: [Int?]? {
        guard let input = layers.first(where: { $0.className == "InputLayer" }) else { return nil }
        guard let shape = (input.config["batch_shape"] ?? input.config["batch_input_shape"])?.array, !shape.isEmpty else { return nil }
        return shape.dropFirst().map { $0.int }
    }
}

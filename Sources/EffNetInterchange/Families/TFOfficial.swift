import EffNet

/// tensorflow/tpu's official EfficientNet (models/official/efficientnet) as its TensorFlow
/// checkpoints name it, V1 (`efficientnet-bN/`, B0-B8, L2) and Lite (`efficientnet-liteN/`):
///
///     ROOT/stem/conv2d/kernel, ROOT/stem/tpu_batch_normalization/*       stem
///     ROOT/blocks_K/conv2d, tpu_batch_normalization        (expansion, absent when e = 1)
///       depthwise_conv2d/depthwise_kernel, tpu_batch_normalization[_1]
///       se/conv2d, se/conv2d_1  (kernel and bias; absent in Lite)
///       conv2d[_1], tpu_batch_normalization[_1|_2]         (projection)
///     ROOT/head/conv2d, head/tpu_batch_normalization, head/dense          head, classifier
///
/// A block with expansion has `conv2d` (expand) and `conv2d_1` (project), and BNs `` / `_1` /
/// `_2`; without, `conv2d` is the projection and the BNs are `` / `_1`. The shapes are checked
/// against that reading (expansion output = projection input = depthwise channels). BN keys
/// gamma, beta, moving_mean, moving_variance (plain `batch_normalization` is accepted too).
/// Layouts: kernels HWIO -> OIHW, depthwise (k, k, C, 1) -> (C, 1, k, k), dense (in, out) ->
/// (out, in).
///
/// Conventions: TF "SAME" padding from the actual input, BN epsilon 1e-3, swish (ReLU6 for Lite),
/// logits out. The official preprocessing goes into the image preprocessing only (V1: ImageNet
/// mean and std in 0-255 units; Lite: (x - 127) / 128; centre crop of size / (size + 32)): in
/// tensor mode the model takes the already normalised NCHW tensor, as timm's tf_ ports do.
///
/// Training leaves ExponentialMovingAverage copies of every trainable variable and BN moving
/// statistic; the official evaluation restores those, so they are mapped by default
/// (`SourceReader.Options.tfVariables`, `--tf-variables raw` for the variables themselves).
public enum TFOfficialFamily: ModelFamily {
    public static let name = FamilyName.tfOfficial

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        guard let analysis = TFOfficialNames(checkpoint) else { return nil }
        let variant: String
        do { variant = try analysis.analyse().variant } catch { variant = "structure not understood: \(error)" }
        return FamilyDetection(family: name, score: 100, variant: variant)
    }

    /// - Throws: `MappingError.unsupported` naming the variable when a shape does not fit.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        guard let analysis = TFOfficialNames(checkpoint) else {
            throw MappingError.unknownFamily(path: checkpoint.path, detail: "no '<model>/stem/conv2d/kernel' variable (tensorflow/tpu EfficientNet names)")
        }
        return try analysis.analyse().mapping
    }
}

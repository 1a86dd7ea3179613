import EffNet

/// tensorflow/tpu's official EfficientNet (models/official/efficientnet) as its TensorFlow
/// checkpoints name it, V1 (`efficientnet-bN/`, B0-B8, L2) and Lite (`efficientnet-liteN/`), and
/// google/automl's EfficientNetV2 (`efficientnetv2-*/`, below):
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
/// google/automl's EfficientNetV2 (efficientnetv2/effnetv2_model.py, `EffNetV2Model`) names its
/// variables the same way, under `efficientnetv2-{s,m,l,xl,b0,b1,b2,b3}/`: `stem/conv2d` (3x3,
/// stride 2) and `stem/tpu_batch_normalization`, `blocks_K/` numbered over the whole network,
/// `head/conv2d` (1x1 to round(1280 x width)), `head/tpu_batch_normalization`, `head/dense`
/// (the Dense built inside a legacy `tf.name_scope('head')`). Its blocks name their layers in
/// creation order (`conv2d`, `conv2d_1`; `tpu_batch_normalization`, `_1`, `_2`; the utils
/// `BatchNormalization` is given the same default name):
///
///     MBConvBlock (has depthwise_conv2d): exactly as V1 above; SE se/conv2d, se/conv2d_1
///       (width max(1, int(block input x 0.25)), swish, sigmoid gate)
///     FusedMBConvBlock, expand ratio > 1:  conv2d (k x k, strided) + tpu_batch_normalization,
///                                          conv2d_1 (1x1 projection) + tpu_batch_normalization_1
///     FusedMBConvBlock, expand ratio 1:    conv2d (k x k, strided, to the output) +
///                                          tpu_batch_normalization, then swish
///
/// A block without `depthwise_conv2d` is fused; `conv2d_1` means it expands. No V2 table puts
/// SE on a fused block, and such a block is refused. Residual when stride 1 and in == out.
/// Tables (effnetv2_configs.py, repeats r, kernel 3 throughout; `c1` fused):
///
///     S   fused e1 24 r2 | fused e4 48 r4 s2 | fused e4 64 r4 s2 | e4 128 r6 s2 | e6 160 r9 | e6 256 r15 s2; stem 24
///     M   fused e1 24 r3 | e4 48 r5 s2 | e4 80 r5 s2 | e4 160 r7 s2 | e6 176 r14 | e6 304 r18 s2 | e6 512 r5; stem 24
///     L   fused e1 32 r4 | e4 64 r7 s2 | e4 96 r7 s2 | e4 192 r10 s2 | e6 224 r19 | e6 384 r25 s2 | e6 640 r7; stem 32
///     XL  fused e1 32 r4 | e4 64 r8 s2 | e4 96 r8 s2 | e4 192 r16 s2 | e6 256 r24 | e6 512 r32 s2 | e6 640 r8; stem 32
///     B0-B3 base: fused e1 16 r1 | e4 32 r2 s2 | e4 48 r2 s2 | e4 96 r3 s2 | e6 112 r5 | e6 192 r8 s2; stem 32,
///         scaled (width, depth) (1, 1), (1, 1.1), (1.1, 1.2), (1.2, 1.4); channels rounded to 8
///         without V1's 90% rule, repeats ceil(depth x r)
///
/// Weights do not store strides: each change of width starts a stage (`TorchStages.strides(v2Flat:)`).
/// Conventions (hparams.py): BN epsilon 1e-3, TF "SAME" padding, SiLU, head 1280. Evaluation
/// preprocessing (preprocessing.py): S/M/L/XL (x - 128) / 128 (eval sizes 384, 480, 480, 512, no
/// crop above 320 px); B0-B3 V1's ImageNet mean and std (224, 240, 260, 300). ImageNet-21k
/// checkpoints have 21843 classes.
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
            throw MappingError.unknownFamily(path: checkpoint.path, detail: "no '<model>/stem/conv2d/kernel' variable (tensorflow/tpu or google/automl EfficientNet names)")
        }
        return try analysis.analyse().mapping
    }
}

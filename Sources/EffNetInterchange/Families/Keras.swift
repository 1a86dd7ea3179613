import EffNet
import EffNetKeras

/// keras.applications' EfficientNet: EfficientNetB0-B7 and any width/depth scaling built with
/// its `EfficientNet(width_coefficient, depth_coefficient, default_size, ...)` builder, from any
/// Keras layout (full-model or weights-only .h5, Keras 3 .weights.h5, .keras):
///
///     stem_conv, stem_bn                                         stem
///     block<stage><letter>_{expand_conv,expand_bn}  (not 1a)     MBConv blocks
///       _dwconv, _bn, _se_reduce, _se_expand,
///       _project_conv, _project_bn
///     top_conv, top_bn, predictions                              head, classifier
///
/// Layouts: Conv2D kernels HWIO -> OIHW, depthwise (kh, kw, C, 1) -> (C, 1, kh, kw), Dense
/// (in, out) -> (out, in). The SE width comes from the shapes.
///
/// Conventions come from the model config when the file carries one (full-model .h5, .keras):
/// BN epsilon, activation, strides, the ZeroPadding2D before every stride-2 conv (see
/// `KerasAnalysis+Conventions.swift`), Rescaling/Normalization (and the imagenet extra rescaling)
/// folded into `inputTransform`, and whether the classifier ends in softmax. Weights-only files
/// get keras.applications' defaults: eps 1e-3, swish, softmax, x/255 then the stored
/// Normalization (plus the extra 1/sqrt(std) when the stored variance holds imagenet's standard
/// deviations, tensorflow issue 49930), strides by stage, and the padding of the variant's
/// default input size (B0 224 ... B7 600) or, for other structures, Keras' even-size rule.
/// Inputs are NCHW in 0-255, as the Keras model takes them.
public enum KerasFamily: ModelFamily {
    public static let name = FamilyName.keras

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        let table = KerasLayerTable(checkpoint)
        guard let scheme = table.scheme else { return nil }
        // Application names are unique to Keras; class counters ("conv2d_3") only to Keras 3.
        let score = scheme == .applications ? 100 : 60
        do {
            let analysis = try KerasAnalysis(checkpoint)
            return FamilyDetection(family: name, score: score, variant: analysis.variant)
        } catch {
            return FamilyDetection(family: name, score: score, variant: "Keras EfficientNet names, structure not understood: \(error)")
        }
    }

    /// - Throws: `MappingError` when the structure or a convention cannot be represented.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try KerasAnalysis(checkpoint).mapping
    }

    /// The mapping with the padding fixed by `imageSize` ([height, width]): the input size the
    /// model was built for, which a weights-only file does not record.
    /// - Throws: `MappingError`.
    public static func mapping(for checkpoint: SourceCheckpoint, imageSize: [Int]) throws -> WeightMapping {
        try KerasAnalysis(checkpoint, imageSize: imageSize).mapping
    }

    /// What `effnet-inspect` prints for a Keras file: layout, version, the variant found, and
    /// every convention decision with where it came from. Never throws: a structure that does
    /// not map is reported as such.
    public static func summary(_ checkpoint: SourceCheckpoint) -> [String] {
        var lines: [String] = []
        let n = SourceReader.KerasNotes.self
        lines.append("keras layout: \(checkpoint.notes[n.layout] ?? "?")"
            + (checkpoint.notes[n.version].map { ", written by Keras \($0)" } ?? "")
            + (checkpoint.notes[n.backend].map { " (\($0))" } ?? ""))
        let layers = checkpoint.notes[n.layerCount] ?? "?"
        lines.append("layers: \(layers), weights: \(checkpoint.tensors.count), model config: \(checkpoint.notes[n.modelConfig] == nil ? "no" : "yes")")
        do {
            let analysis = try KerasAnalysis(checkpoint)
            lines.append("variant: \(analysis.variant)")
            if !analysis.table.strippedPrefix.isEmpty { lines.append("nested model: weights under '\(analysis.table.strippedPrefix)'") }
            lines += analysis.decisions
        } catch {
            lines.append("not mappable: \(error)")
        }
        return lines
    }
}

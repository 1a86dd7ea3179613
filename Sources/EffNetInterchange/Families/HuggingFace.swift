import EffNet
import Foundation

/// Hugging Face transformers' `EfficientNetForImageClassification` (modeling_efficientnet.py):
///
///     efficientnet.embeddings.convolution / .batchnorm             stem
///     efficientnet.encoder.blocks.N.expansion.expand_conv / _bn     expansion (expand ratio != 1)
///       .depthwise_conv.depthwise_conv / .depthwise_norm            depthwise
///       .squeeze_excite.reduce / .expand                            SE, with bias
///       .projection.project_conv / .project_bn                      projection
///     efficientnet.encoder.top_conv / top_bn, classifier            head, linear
///
/// A port of Keras' EfficientNet, with its own padding: the stem pads (0, 1, 0, 1) and runs
/// 'valid'; a stride-2 depthwise conv pads `correct_pad(k, adjust)` = (k//2 - 1, k//2) and runs
/// 'valid', except for the blocks listed in config.json's `depthwise_padding`, which pad
/// (k//2, k//2); stride-1 convolutions run 'same'. Those are exactly TF SAME evaluated once for
/// a size that is even before every stride-2 conv but the listed ones: `sameStatic` at a
/// representative size. BN eps `batch_norm_eps` (1e-3). A block adds its input only when it is
/// not the first of its stage (`id_skip`), which for EfficientNet's channel plan is the usual
/// stride-1, same-width rule; configs where the two differ are refused.
///
/// config.json (beside the weights, or in the folder given as SOURCE) supplies the strides,
/// `depthwise_padding`, epsilon, activation and `id2label`; without it the strides come from the
/// B0 stage table and no block is listed in `depthwise_padding` (transformers' default).
public enum HuggingFaceFamily: ModelFamily {
    public static let name = FamilyName.hf
    static let prefix = "efficientnet."

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        let idx = TorchNames(checkpoint)
        guard idx.has("\(prefix)embeddings.convolution.weight"), idx.anyName(contains: "\(prefix)encoder.blocks.0.") else { return nil }
        let variant: String
        do { variant = try analyse(checkpoint, idx).variant } catch { variant = "structure not understood: \(error)" }
        return FamilyDetection(family: name, score: 100, variant: variant)
    }

    /// - Throws: `MappingError.unsupported` when sizes, strides or the config cannot be used.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try analyse(checkpoint, TorchNames(checkpoint)).mapping
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        modelNames(blocks: idx.indices(after: "\(prefix)encoder.blocks.").map { n in
            idx.block(among: TorchBlockStructure.allCases.map { blockNames($0, index: n) })
        }, classifier: idx.linear(in: "classifier", fallback: "classifier"), head: TorchHeadChain.read(idx, container: "classifier"))
    }

    static func modelNames(blocks: [TorchBlockNames], classifier: String = "classifier", head: HeadAlternatives? = nil) -> TorchModelNames {
        TorchModelNames(stemConv: "\(prefix)embeddings.convolution", stemBN: "\(prefix)embeddings.batchnorm", blocks: blocks,
                        headConv: "\(prefix)encoder.top_conv", headBN: "\(prefix)encoder.top_bn", classifier: classifier, head: head)
    }

    /// `efficientnet.encoder.blocks.<index>`: MBConv only (transformers' EfficientNet is V1).
    static func blockNames(_ s: TorchBlockStructure, index: Int) -> TorchBlockNames? {
        guard s.kind == .mbconv else { return nil }
        let p = "\(prefix)encoder.blocks.\(index)"
        return TorchBlockNames(
            expandConv: s.hasPointwise ? "\(p).expansion.expand_conv" : nil, expandBN: s.hasPointwise ? "\(p).expansion.expand_bn" : nil,
            depthwiseConv: "\(p).depthwise_conv.depthwise_conv", depthwiseBN: "\(p).depthwise_conv.depthwise_norm",
            seReduce: s.hasSE ? "\(p).squeeze_excite.reduce" : nil, seExpand: s.hasSE ? "\(p).squeeze_excite.expand" : nil,
            projectConv: "\(p).projection.project_conv", projectBN: "\(p).projection.project_bn")
    }

    /// What transformers' EfficientNetConfig says, where the checkpoint has a config.json.
    struct HubConfig {
        var strides: [Int]?
        /// Each block's stage, alongside `strides`.
        var stages: [Int]?
        var depthwisePadding: Set<Int>
        var epsilon: Float?
        var activation: String?
        var imageSize: Int?
        var classNames: [String]?
        var numLabels: Int?

        init(_ json: [String: Any]) {
            depthwisePadding = Set((json["depthwise_padding"] as? [Int]) ?? [])
            epsilon = (json["batch_norm_eps"] as? NSNumber).map { $0.floatValue }
            activation = json["hidden_act"] as? String
            // config.json is untrusted: every number is bounded before it sizes anything.
            imageSize = (json["image_size"] as? Int).flatMap { (1 ... 8192).contains($0) ? $0 : nil }
            if let base = json["strides"] as? [Int], let repeats = json["num_block_repeats"] as? [Int], base.count == repeats.count,
               base.count <= 64, repeats.allSatisfy({ (0 ... 1000).contains($0) }), base.allSatisfy({ (1 ... 4).contains($0) }),
               let depth = (json["depth_coefficient"] as? NSNumber)?.doubleValue, depth.isFinite, depth > 0, depth <= 100 {
                // transformers' round_repeats: ceil(depth * repeats); a stage's first block strides.
                var st: [Int] = [], sg: [Int] = []
                for (stage, (s, r)) in zip(base, repeats).enumerated() {
                    for j in 0 ..< EfficientNetConfig.roundRepeats(r, depth: depth) {
                        st.append(j == 0 ? s : 1)
                        sg.append(stage)
                    }
                }
                (strides, stages) = (st, sg)
            }
            if let labels = json["id2label"] as? [String: Any] {
                let pairs = labels.compactMap { k, v in Int(k).map { ($0, "\(v)") } }.sorted { $0.0 < $1.0 }
                if pairs.map(\.0) == Array(0 ..< pairs.count) { classNames = pairs.map(\.1) }
            }
            numLabels = (json["num_labels"] as? Int) ?? classNames?.count
            if let n = numLabels, !(0 ... 1 << 24).contains(n) { numLabels = -1 }
        }
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames) throws -> (mapping: WeightMapping, variant: String) {
        let path = checkpoint.path
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: path)
        let json = SourceReader.hubConfig(of: checkpoint)
        let hub = json.flatMap { $0["model_type"] as? String == "efficientnet" ? HubConfig($0) : nil }
        var notes: [String] = []
        // Strides: the config's, else the B0 stage table.
        var strides: [Int], stages: [Int]
        if let s = hub?.strides, let g = hub?.stages {
            guard s.count == shapes.blocks.count else {
                throw MappingError.unsupported(path: path, detail: "config.json describes \(s.count) blocks (strides, num_block_repeats, depth_coefficient), the weights have \(shapes.blocks.count)")
            }
            (strides, stages) = (s, g)
            notes.append("strides from config.json")
        } else {
            (strides, stages) = try TorchStages.strides(flat: shapes.blocks, fixedEndStages: false, path: path)
            notes.append(hub == nil ? "no config.json: strides from EfficientNet's stage table, depthwise_padding assumed empty"
                         : "config.json gives no usable strides, num_block_repeats and depth_coefficient: strides from EfficientNet's stage table")
        }
        let eps = hub?.epsilon ?? 1e-3
        let activation: EfficientNetConfig.Activation
        switch hub?.activation ?? "swish" {
        case "swish", "silu": activation = .silu
        case "relu6": activation = .relu6
        case let other: throw MappingError.unsupported(path: path, detail: "config.json hidden_act '\(other)' is not supported (swish or relu6)")
        }
        // correct_pad: (k//2 - 1, k//2) at every stride-2 conv (an even size), (k//2, k//2) at the
        // stride-2 blocks depthwise_padding lists (an odd one).
        let padded = hub?.depthwisePadding ?? []
        var even = [true]
        for (i, s) in strides.enumerated() where s == 2 { even.append(!padded.contains(i)) }
        let size = KerasAnalysis.representativeSize(even)
        let image = hub?.imageSize ?? 224
        var conventions = TorchConventions(bnEpsilon: eps, padding: .init(mode: .sameStatic, imageSize: [size, size]), activation: activation,
                                           imagePreprocessing: .imagenetTorch(resize: image, crop: image))
        var config = shapes.config(name: "hf_efficientnet", strides: strides, stages: stages, conventions: conventions)
        if let p = try preprocessing(checkpoint, imageSize: image) { conventions.imagePreprocessing = p; config.imagePreprocessing = p }
        // transformers adds the residual only after a stage's first block (`id_skip`): a first
        // block that keeps its width at stride 1 (small width multipliers) has none.
        notes += config.withoutStageFirstResiduals(stages: stages, why: "transformers' id_skip")
        if let n = hub?.numLabels, n != shapes.numClasses {
            throw MappingError.unsupported(path: path, detail: "config.json has \(n) labels, the classifier weight '\(names.classifier).weight' has \(shapes.numClasses) rows")
        }
        let match = TorchVariant.match(config, stages: stages, presets: TorchVariant.bPresets { "efficientnet-b\($0)" })
        if let i = match.index { config.name = "efficientnet-b\(i)" }
        notes.append("padding: transformers' correct_pad at stride-2 convolutions" + (padded.isEmpty ? "" : " (depthwise_padding \(padded.sorted()))")
                     + ", as static TF SAME for \(size)x\(size)")
        var mapping = TorchMapping.mapping(family: name, names: names, config: config, checkpoint: checkpoint)
        mapping.notes += notes
        mapping.classNames = hub?.classNames
        let variant = match.description + ", \(shapes.numClasses) classes; transformers EfficientNetForImageClassification, BN eps \(eps)"
            + (json == nil ? " (no config.json)" : "")
        return (mapping, variant)
    }

    /// preprocessor_config.json (EfficientNetImageProcessor, transformers'
    /// image_processing_efficientnet.py): resize both sides to `size` (no aspect ratio kept) with
    /// `resample` (a PIL filter number; absent: the class default, BICUBIC in transformers 5,
    /// NEAREST before), centre crop only with `do_center_crop`, rescale by `rescale_factor`
    /// (minus 1 with `rescale_offset`, folded into the mean here), normalise by `image_mean` and
    /// `image_std`, and with `include_top` divide by `image_std` once more (stored here as
    /// std squared).
    static func preprocessing(_ checkpoint: SourceCheckpoint, imageSize: Int) throws -> EfficientNetConfig.ImagePreprocessing? {
        guard let text = checkpoint.notes[SourceReader.HubNotes.preprocessor],
              let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        func flag(_ key: String, _ otherwise: Bool) -> Bool { (json[key] as? Bool) ?? otherwise }
        let sizes = json["size"] as? [String: Any]
        let size = sizes.flatMap { ($0["height"] as? Int) ?? ($0["shortest_edge"] as? Int) } ?? imageSize
        // size {shortest_edge: n} keeps the aspect ratio (then the centre square is what fits a batch).
        let keepsRatio = sizes?["height"] == nil && sizes?["shortest_edge"] != nil
        let cropSizes = json["crop_size"] as? [String: Any]
        let crop = flag("do_center_crop", false) ? (cropSizes?["height"] as? Int) ?? size : size
        let filter: EfficientNetConfig.ImagePreprocessing.Interpolation
        switch (json["resample"] as? Int) ?? 3 {
        case 0: filter = .nearest
        case 2: filter = .bilinear
        case 3: filter = .bicubic
        default: return nil   // box, hamming, lanczos: not reproduced
        }
        let scale = flag("do_rescale", true) ? (json["rescale_factor"] as? NSNumber)?.floatValue ?? 1.0 / 255 : 1
        let offset: Float = flag("do_rescale", true) && flag("rescale_offset", false) ? 1 : 0
        let imageMean = (json["image_mean"] as? [NSNumber])?.map(\.floatValue) ?? [0.5, 0.5, 0.5]
        let imageStd = (json["image_std"] as? [NSNumber])?.map(\.floatValue) ?? [0.5, 0.5, 0.5]
        let normalize = flag("do_normalize", true)
        var mean = (normalize ? imageMean : [0, 0, 0]).map { $0 + offset }
        var std = normalize ? imageStd : [1, 1, 1]
        if flag("include_top", true) { std = zip(std, imageStd).map { $0 * $1 } }
        if mean.count == 1 { mean = Array(repeating: mean[0], count: 3) }
        if std.count == 1 { std = Array(repeating: std[0], count: 3) }
        guard mean.count == 3, std.count == 3, size > 0, size <= 8192, crop > 0, crop <= size, scale.isFinite, scale > 0,
              mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else { return nil }
        return .init(resizeShorterTo: size, cropSize: crop, pixelScale: scale, mean: mean, std: std,
                     interpolation: filter, resizeMode: keepsRatio ? .shorterSide : .exact)
    }
}

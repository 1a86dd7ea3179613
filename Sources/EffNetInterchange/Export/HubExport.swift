import EffNet
import Foundation

/// The JSON files that go beside model.safetensors in a hub folder: timm's config.json with its
/// `pretrained_cfg`, transformers' config.json and preprocessor_config.json. Written from the
/// model's Config, so the input convention travels with the weights.
enum HubExport {
    /// The files as a reader attaches them to a checkpoint (`SourceReader.HubNotes`).
    static func notes(_ files: [(name: String, text: String)]) -> [String: String] {
        var notes: [String: String] = [:]
        for f in files {
            switch f.name {
            case "config.json": notes[SourceReader.HubNotes.config] = f.text
            case "preprocessor_config.json": notes[SourceReader.HubNotes.preprocessor] = f.text
            default: break
            }
        }
        return notes
    }

    /// timm (`save_for_hf`'s layout): the architecture timm builds, and `pretrained_cfg` with the
    /// input size, mean, std and crop fraction of the model's preprocessing.
    /// - Throws: `ExportError.cannotHold` when timm has no architecture of this structure.
    static func timmFiles(_ c: EfficientNetConfig, architecture: String, family: FamilyName, destination: String) throws -> [(name: String, text: String)] {
        guard !architecture.hasSuffix("custom") else {
            throw ExportError.cannotHold(family: family, convention: "this structure in a hub folder",
                                         detail: "timm.create_model builds models by architecture name and no \(family.rawValue) architecture has this one's blocks; write a .pth or .safetensors DEST instead")
        }
        let p = c.imagePreprocessing
        let (mean, std) = c.torchNormalisation
        let cfg: [String: Any] = [
            "tag": "effnetkit",
            "custom_load": false,
            "input_size": [c.inputChannels, p.cropSize, p.cropSize],
            "fixed_input_size": false,
            "interpolation": p.interpolation.rawValue,
            "crop_pct": p.resizeMode == .exact ? 1.0 : json(Float(p.cropSize) / Float(max(p.resizeShorterTo, 1))),
            "crop_mode": p.resizeMode == .exact ? "squash" : "center",
            "mean": mean.map(json), "std": std.map(json),
            "num_classes": c.numClasses,
            "pool_size": [max(1, p.cropSize / 32), max(1, p.cropSize / 32)],
            "first_conv": "conv_stem",
            "classifier": "classifier",
        ]
        let config: [String: Any] = [
            "architecture": architecture, "num_classes": c.numClasses, "num_features": c.headChannels,
            "global_pool": "avg", "pretrained_cfg": cfg,
        ]
        return [("config.json", try text(config))]
    }

    /// transformers' EfficientNetConfig and EfficientNetImageProcessor for `c`: the B0 stage
    /// table scaled by the width and depth coefficients that reproduce the model's channels and
    /// repeats, its kernels, expansions and strides per stage, `depthwise_padding` for the
    /// stride-2 blocks the model pads (k//2, k//2), epsilon, activation and labels.
    /// - Throws: `ExportError.cannotHold` for a structure transformers' config cannot describe.
    static func transformersFiles(_ c: EfficientNetConfig, classNames: [String]?, destination: String) throws -> [(name: String, text: String)] {
        func refuse(_ what: String, _ why: String) -> ExportError { .cannotHold(family: .hf, convention: what, detail: why) }
        let table = EfficientNetConfig.b0Stages
        let positions = TorchExport.stagePositions(c)
        let stageCount = (positions.last?.stage ?? -1) + 1
        guard stageCount == table.count, c.blocks.allSatisfy({ $0.kind == .mbconv }) else {
            throw refuse("this structure", "transformers' EfficientNet has the 7 MBConv stages of EfficientNet-B0..B7")
        }
        var repeats = [Int](repeating: 0, count: stageCount)
        var firsts = [EfficientNetConfig.Block?](repeating: nil, count: stageCount)
        for (b, p) in zip(c.blocks, positions) {
            repeats[p.stage] += 1
            if firsts[p.stage] == nil { firsts[p.stage] = b }
        }
        let first = firsts.map { $0! }
        let stemBase = 32, headBase = 1280
        let inBase = [stemBase] + table.dropLast().map(\.outChannels)
        guard let width = solveWidth(c, first: first, stemBase: stemBase, headBase: headBase) else {
            throw refuse("these channel counts", "no width_coefficient rounds the B0 table to them")
        }
        guard let depth = solveDepth(repeats, base: table.map(\.repeats)) else {
            throw refuse("these block counts per stage \(repeats)", "no depth_coefficient gives them from the B0 table")
        }
        for (i, b) in c.blocks.enumerated() where b.seChannels != max(1, Int(Double(b.inChannels) * 0.25)) {
            throw refuse("block \(i)'s squeeze-excitation width \(b.seChannels.map(String.init) ?? "none")", "transformers uses a quarter of the block's input channels")
        }
        // Stride-2 convolutions the model pads (k//2, k//2) at its size are depthwise_padding's.
        let n = Converter.evaluationSize(c)
        let pads = c.convPaddings(height: n, width: n)
        let listed = c.blocks.indices.filter { i in c.blocks[i].stride == 2 && pads[i + 1].top == c.blocks[i].kernel / 2 }
        let labels = classNames?.count == c.numClasses ? classNames! : (0 ..< c.numClasses).map { "LABEL_\($0)" }
        var id2label: [String: String] = [:], label2id: [String: Int] = [:]
        for (i, l) in labels.enumerated() { id2label["\(i)"] = l; label2id[l] = i }
        let config: [String: Any] = [
            "model_type": "efficientnet",
            "architectures": ["EfficientNetForImageClassification"],
            "num_channels": c.inputChannels,
            "image_size": c.imagePreprocessing.cropSize,
            "width_coefficient": width, "depth_coefficient": depth, "depth_divisor": 8,
            "kernel_sizes": first.map(\.kernel),
            "in_channels": inBase, "out_channels": table.map(\.outChannels),
            "depthwise_padding": listed,
            "strides": first.map(\.stride),
            "num_block_repeats": table.map(\.repeats),
            "expand_ratios": first.map(\.expandRatio),
            "squeeze_expansion_ratio": 0.25,
            "hidden_act": c.activation == .silu ? "swish" : "relu6",
            "hidden_dim": c.headChannels,
            "pooling_type": "mean",
            "initializer_range": 0.02,
            "batch_norm_eps": json(c.bnEpsilon), "batch_norm_momentum": 0.99,
            "dropout_rate": 0.2, "drop_connect_rate": 0.2,
            "num_labels": c.numClasses, "id2label": id2label, "label2id": label2id,
        ]
        let (mean, std) = c.torchNormalisation
        let processor: [String: Any] = [
            "image_processor_type": "EfficientNetImageProcessor",
            "do_resize": true, "size": ["height": c.imagePreprocessing.cropSize, "width": c.imagePreprocessing.cropSize],
            // PIL's resample codes; transformers' processor resizes straight to the size (no crop).
            "resample": ["nearest": 0, "bilinear": 2, "bicubic": 3][c.imagePreprocessing.interpolation.rawValue] ?? 2,
            "do_center_crop": false, "crop_size": ["height": c.imagePreprocessing.cropSize, "width": c.imagePreprocessing.cropSize],
            "do_rescale": true, "rescale_factor": 1.0 / 255, "rescale_offset": false,
            "do_normalize": true, "image_mean": mean.map(json), "image_std": std.map(json),
            // include_top divides by the std a second time (keras.applications' quirk): off.
            "include_top": false,
        ]
        return [("config.json", try text(config)), ("preprocessor_config.json", try text(processor))]
    }

    /// The width coefficient (two decimals, the published ones first) whose rounding of the B0
    /// table gives the model's stem, stage and head channels.
    static func solveWidth(_ c: EfficientNetConfig, first: [EfficientNetConfig.Block], stemBase: Int, headBase: Int) -> Double? {
        let table = EfficientNetConfig.b0Stages
        let candidates = EfficientNetConfig.compoundScaling.map(\.width) + (1 ... 800).map { Double($0) / 100 }
        return candidates.first { w in
            EfficientNetConfig.roundChannels(stemBase, width: w) == c.stem.outChannels
                && EfficientNetConfig.roundChannels(headBase, width: w) == c.headChannels
                && zip(table, first).allSatisfy { EfficientNetConfig.roundChannels($0.outChannels, width: w) == lastOut(c, stageOf: $1) }
        }
    }

    /// The output channels of the stage `block` starts.
    private static func lastOut(_ c: EfficientNetConfig, stageOf block: EfficientNetConfig.Block) -> Int {
        c.blocks.last { $0.stage == block.stage }?.outChannels ?? -1
    }

    /// A depth coefficient whose ceil(d * r) gives every stage's block count (the published ones
    /// first, else the middle of the interval that works, to four decimals).
    static func solveDepth(_ repeats: [Int], base: [Int]) -> Double? {
        func fits(_ d: Double) -> Bool { zip(repeats, base).allSatisfy { EfficientNetConfig.roundRepeats($1, depth: d) == $0 } }
        if let d = EfficientNetConfig.compoundScaling.map(\.depth).first(where: fits) { return d }
        let lo = zip(repeats, base).map { Double($0 - 1) / Double($1) }.max() ?? 0
        let hi = zip(repeats, base).map { Double($0) / Double($1) }.min() ?? 0
        let mid = ((lo + hi) / 2 * 10000).rounded() / 10000
        return lo < hi && fits(mid) ? mid : nil
    }

    /// A Float as JSON shows it: its shortest decimal form (0.485, not 0.48500001430511475).
    static func json(_ v: Float) -> Double { Double("\(v)") ?? Double(v) }

    static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self) + "\n"
    }
}

extension EfficientNetConfig {
    /// The mean and std on 0-1 pixels that a PyTorch caller normalises with to give this model
    /// what it expects: the preprocessing's (rescaled to 0-1 pixels) composed with the model's
    /// own input transform, if any (y = x * scale + offset after it).
    var torchNormalisation: (mean: [Float], std: [Float]) {
        let p = imagePreprocessing
        let channels = 0 ..< inputChannels
        let scale = inputTransform?.scale ?? .init(repeating: 1, count: inputChannels)
        let offset = inputTransform?.offset ?? .init(repeating: 0, count: inputChannels)
        let mean = channels.map { p.mean.indices.contains($0) ? p.mean[$0] : 0 }
        let std = channels.map { p.std.indices.contains($0) ? p.std[$0] : 1 }
        // y = ((x255 * ps - m) / s) * a + b = (x01 - mean') / std'.
        let stdOut = channels.map { std[$0] / (255 * p.pixelScale * scale[$0]) }
        let meanOut = channels.map { -(offset[$0] - mean[$0] * scale[$0] / std[$0]) * stdOut[$0] }
        return (meanOut, stdOut)
    }
}

import EffNet
import Foundation
import EffNetKeras

/// The conventions keras.applications' EfficientNet bakes in, read from the model config when
/// the file has one.
///
/// Padding: every stride-2 convolution is preceded by `ZeroPadding2D(correct_pad(x, k))` and
/// runs "valid"; stride-1 convolutions run "same". `correct_pad` pads (k//2 - 1, k//2) when the
/// build-time size along an axis is even, or unknown (None), and (k//2, k//2) when it is odd.
/// That is exactly TF "SAME" computed once from the build-time size, i.e. `sameStatic` with
/// that size. A model built with an unknown size, or one whose recorded paddings do not follow
/// its recorded input size, gets a representative size with the same odd/even pattern at every
/// stride-2 convolution (224 for all-even), which reproduces Keras' paddings for any input.
extension KerasAnalysis {
    /// imagenet's channel standard deviations, which keras.applications stores as the
    /// Normalization layer's "variance" in its imagenet weights (tensorflow issue 49930).
    static let imagenetStd: [Double] = [0.229, 0.224, 0.225]

    mutating func conventions(_ cfg: inout EfficientNetConfig, classifierLayer: String, imageSize: [Int]?) throws {
        let source = config == nil ? "keras.applications default; the file has no model config" : "model config"
        // Batch-norm epsilon.
        // The base's batch norms (a classifier chain's BatchNormalization carries its own).
        let epsilons = Set((config?.flattenedLayers ?? []).filter { $0.className == "BatchNormalization" && !headLayers.contains($0.name) }.compactMap(\.epsilon))
        guard epsilons.count <= 1 else { throw failure("batch norm layers use different epsilons \(epsilons.sorted())") }
        cfg.bnEpsilon = Float(epsilons.first ?? 1e-3)
        decisions.append("batch norm epsilon \(cfg.bnEpsilon) (\(source))")
        // Activation.
        switch configLayer("stem_activation")?.activation ?? "swish" {
        case "swish", "silu": cfg.activation = .silu
        case "relu6": cfg.activation = .relu6
        case let other: throw failure("activation '\(other)' is not supported (swish or relu6)")
        }
        // Output activation (a classifier chain holds its own).
        if cfg.classifierChain != nil {
            cfg.finalSoftmax = false
        } else if let layer = configLayer(classifierLayer) {
            switch layer.activation ?? "linear" {
            case "softmax": cfg.finalSoftmax = true
            case "linear": cfg.finalSoftmax = false
            case let other: throw failure("classifier activation '\(other)' is not supported (softmax or none)")
            }
        } else {
            cfg.finalSoftmax = true
        }
        if cfg.classifierChain == nil {
            decisions.append("output: \(cfg.finalSoftmax ? "softmax probabilities" : "logits") (\(config == nil ? source : "\(classifierLayer) activation in the model config"))")
        }
        try padding(&cfg, imageSize: imageSize)
    }

    // MARK: Padding

    private struct StridedConv {
        var conv: String
        var pad: String
        var kernel: Int
        var stride: Int
    }

    private mutating func padding(_ cfg: inout EfficientNetConfig, imageSize: [Int]?) throws {
        var strided: [StridedConv] = []
        if cfg.stem.stride > 1 {
            strided.append(StridedConv(conv: KerasNames.stem.conv, pad: KerasNames.padding(of: KerasNames.stem.conv), kernel: cfg.stem.kernel, stride: cfg.stem.stride))
        }
        for (i, b) in cfg.blocks.enumerated() where b.stride > 1 {
            let conv = spatialLayers[i]
            strided.append(StridedConv(conv: conv, pad: KerasNames.padding(of: conv), kernel: b.kernel, stride: b.stride))
        }
        guard strided.allSatisfy({ $0.stride == 2 }) else {
            throw failure("strides other than 1 and 2 are not supported")
        }
        var size: [Int]
        var dynamic = false
        if let imageSize {
            guard imageSize.count == 2, imageSize.allSatisfy({ $0 > 0 }) else { throw failure("image size \(imageSize) is not [height, width]") }
            size = imageSize
            decisions.append("padding: static SAME for \(size[0])x\(size[1]), as given")
        } else if config != nil {
            (size, dynamic) = try paddingFromConfig(strided, cfg)
        } else if cfg.isV2 {
            size = [224, 224]
            dynamic = true
            decisions.append("padding: TF SAME from the actual input (keras' EfficientNetV2 pads every convolution 'same'; the file has no model config)")
        } else if let n = matchedVariant {
            let r = EfficientNetConfig.compoundScaling[n].resolution
            size = [r, r]
            decisions.append("padding: static SAME for \(r)x\(r), efficientnet_b\(n)'s default input size (the file has no model config; if it was built for another size, give it: effnet-convert --image-size)")
        } else {
            let even = Array(repeating: true, count: strided.count)
            size = [Self.representativeSize(even), Self.representativeSize(even)]
            decisions.append("padding: Keras' even-size rule at every stride-2 conv (static SAME for \(size[0])x\(size[1])): the file has no model config; right for models built for sizes that halve evenly or for None, else give the size: effnet-convert --image-size")
        }
        cfg.padding = dynamic ? .sameDynamic : .init(mode: .sameStatic, imageSize: size)
        cfg.imagePreprocessing = .raw(size: size[0])
    }

    /// Reads every ZeroPadding2D before a stride-2 conv and finds a static size reproducing them.
    private mutating func paddingFromConfig(_ strided: [StridedConv], _ cfg: EfficientNetConfig) throws -> (size: [Int], dynamic: Bool) {
        var evenH: [Bool] = [], evenW: [Bool] = [], dynamic = 0
        for s in strided {
            let mode = configLayer(s.conv)?.paddingMode
            guard let pad = configLayer(s.pad)?.zeroPadding else {
                guard mode == "same" else { throw failure("\(s.conv) runs '\(mode ?? "?")' without a ZeroPadding2D before it") }
                dynamic += 1
                continue
            }
            guard mode == "valid" else { throw failure("\(s.conv) runs '\(mode ?? "?")' after \(s.pad)") }
            func parity(_ before: Int, _ after: Int) throws -> Bool {
                let h = s.kernel / 2
                if before == h - 1, after == h { return true }
                if before == h, after == h { return false }
                throw failure("\(s.pad) pads (\(before), \(after)) before a \(s.kernel)x\(s.kernel) stride-2 conv: neither of Keras' correct_pad results (\(h - 1), \(h)) or (\(h), \(h))")
            }
            evenH.append(try parity(pad.top, pad.bottom))
            evenW.append(try parity(pad.left, pad.right))
        }
        for (i, b) in cfg.blocks.enumerated() where b.stride == 1 {
            if let mode = configLayer(spatialLayers[i])?.paddingMode, mode != "same" {
                throw failure("\(spatialLayers[i]) runs '\(mode)' padding at stride 1; keras.applications uses 'same'")
            }
        }
        let input = config?.inputShape
        let known = input.flatMap { s -> [Int]? in s.count >= 2 ? (s[0].flatMap { h in s[1].map { [h, $0] } }) : nil }
        if dynamic == strided.count {
            decisions.append("padding: TF SAME from the actual input (stride-2 convs run 'same', no ZeroPadding2D)")
            return (known ?? [224, 224], true)
        }
        guard dynamic == 0 else { throw failure("some stride-2 convs have ZeroPadding2D and others run 'same'") }
        if let known, Self.parities(known[0], strided.count) == evenH, Self.parities(known[1], strided.count) == evenW {
            decisions.append("padding: static SAME for \(known[0])x\(known[1]), the build-time input size (ZeroPadding2D values in the model config agree)")
            return (known, false)
        }
        let size = [Self.representativeSize(evenH), Self.representativeSize(evenW)]
        let why = known.map { "the recorded paddings do not follow the recorded input \($0[0])x\($0[1])" } ?? "the model was built for input size None"
        decisions.append("padding: the model config's ZeroPadding2D values, reproduced by static SAME for \(size[0])x\(size[1]) (\(why); any input size gets the same padding)")
        return (size, false)
    }

    /// Whether the size at each of `count` successive stride-2 convs is even, starting from `size`.
    static func parities(_ size: Int, _ count: Int) -> [Bool] {
        var s = size, r: [Bool] = []
        for _ in 0 ..< count { r.append(s % 2 == 0); s = (s + 1) / 2 }
        return r
    }

    /// The size whose halvings have the given parities, ending at 7 after the last one
    /// (all even over five convs gives 224).
    static func representativeSize(_ even: [Bool]) -> Int {
        var s = 7
        for e in even.reversed() { s = e ? 2 * s : 2 * s - 1 }
        return s
    }

    // MARK: Input preprocessing

    /// Sets `cfg.inputTransform`; returns the layers folded into it.
    mutating func inputTransform(_ cfg: inout EfficientNetConfig, _ checkpoint: SourceCheckpoint) throws -> [String] {
        func stored(_ layer: String, _ variable: String) -> [Double]? {
            guard let s = table.source(layer, [variable]), let t = checkpoint.tensor(s) else { return nil }
            return t.raw.floats().map(Double.init)
        }
        var affine: KerasInputPreprocessing
        if let config {
            do {
                affine = try KerasInputPreprocessing.fold(
                    config, channels: cfg.inputChannels, file: path,
                    isModelStart: { $0.name == "stem_conv_pad" || $0.name == "stem_conv" || $0.className == "ZeroPadding2D" || $0.className == "Conv2D" },
                    storedWeights: stored)
            } catch let e as KerasFormatError {
                throw failure("\(e)")
            }
            decisions.append("input: " + (affine.steps.isEmpty ? "used as is" : affine.steps.joined(separator: "; ")) + " (model config)")
        } else if cfg.isV2 {
            affine = try v2InputTransform(cfg)
        } else {
            affine = KerasInputPreprocessing(channels: cfg.inputChannels)
            do {
                try affine.then(scale: [1.0 / 255], offset: [0], step: "x / 255 (keras.applications' Rescaling, assumed)", file: path, layer: "rescaling")
                if let norm = table.layerOrder.first(where: { table.source($0, ["mean"]) != nil && table.source($0, ["variance"]) != nil }),
                   let mean = stored(norm, "mean"), let variance = stored(norm, "variance") {
                    try affine.thenNormalize(mean: mean, variance: variance, file: path, layer: norm)
                    if variance.count == Self.imagenetStd.count, zip(variance, Self.imagenetStd).allSatisfy({ abs($0 - $1) < 1e-5 }) {
                        try affine.then(scale: Self.imagenetStd.map { 1 / $0.squareRoot() }, offset: [0],
                                        step: "x / sqrt(std): the extra rescaling keras.applications adds for imagenet weights (tensorflow issue 49930), recognised from the stored variance, which holds imagenet's standard deviations",
                                        file: path, layer: "imagenet_rescaling")
                    }
                } else {
                    decisions.append("input: no Normalization weights in the file; only x / 255 is applied")
                }
            } catch let e as KerasFormatError {
                throw failure("\(e)")
            }
            decisions.append("input: " + affine.steps.joined(separator: "; ") + " (no model config)")
        }
        cfg.inputTransform = affine.isIdentity ? nil
            : .init(scale: affine.scale.map { Float($0) }, offset: affine.offset.map { Float($0) })
        return affine.layers
    }

    /// keras' EfficientNetV2 preprocessing when the file has no model config: its constants live
    /// in the layer config, not in the weights, and the model's name decides them (B0-B3:
    /// Rescaling(1/255) + Normalization(ImageNet mean, std^2); S/M/L: x / 128 - 1). Decided by
    /// the structure when it is a known variant, else the B-models' (with a note saying so).
    private mutating func v2InputTransform(_ cfg: EfficientNetConfig) throws -> KerasInputPreprocessing {
        let known = TorchVariant.matchV2(cfg, presets: TorchVariant.v2Presets { $0.name })?.name
        let affine: KerasInputPreprocessing
        do {
            affine = try Self.v2Preprocessing(variant: known, channels: cfg.inputChannels, path: path)
        } catch let e as KerasFormatError {
            throw failure("\(e)")
        }
        let why = known.map { "the structure is \($0)" }
            ?? "assumed: the structure is no known variant and a .weights.h5 holds no preprocessing constants; an S/M/L-style model (x / 128 - 1) needs its .keras file or a reference pair to check"
        decisions.append("input: " + affine.steps.joined(separator: "; ") + " (no model config; \(why))")
        return affine
    }

    /// ImageNet's channel means, which keras.applications normalises with.
    static let imagenetMean: [Double] = [0.485, 0.456, 0.406]

    /// The V2 variants whose keras builder preprocesses x / 128 - 1.
    static let v2RescalingOnlyVariants: Set<String> = ["efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]

    /// What keras' EfficientNetV2 does to its 0-255 input (`include_preprocessing=True`) for the
    /// variant named (an `EfficientNetConfig.v2Variants` name; nil for none): S/M/L
    /// `Rescaling(1/128, offset=-1)`; the B-models, and anything else, `Rescaling(1/255)` then
    /// `Normalization(ImageNet mean, std^2)`. Constants of the layer config, never in the weights.
    /// - Throws: `KerasFormatError` when the channel count does not fit the constants.
    static func v2Preprocessing(variant: String?, channels: Int, path: String) throws -> KerasInputPreprocessing {
        var affine = KerasInputPreprocessing(channels: channels)
        if let variant, v2RescalingOnlyVariants.contains(variant) {
            try affine.then(scale: [1.0 / 128], offset: [-1], step: "x / 128 - 1 (keras' EfficientNetV2-S/M/L Rescaling)", file: path, layer: "rescaling")
        } else {
            try affine.then(scale: [1.0 / 255], offset: [0], step: "x / 255 (keras' EfficientNetV2-B Rescaling)", file: path, layer: "rescaling")
            try affine.thenNormalize(mean: imagenetMean, variance: imagenetStd.map { $0 * $0 }, file: path, layer: "normalization")
        }
        return affine
    }
}

import EffNet
import Foundation

/// The keras.applications model a config matches, found by rebuilding keras' own block
/// layout and comparing, with every convention checked (see `KerasExport`).
struct KerasTarget {
    let config: EfficientNetConfig
    /// keras' model name, written on the Keras 3 file's top-level `vars` group.
    let modelName: String
    /// keras' builder's blocks for this structure: their `stage` gives the Keras block names.
    let kerasBlocks: [EfficientNetConfig.Block]
    let isV2: Bool
    /// keras' EfficientNetV2 variant name (`EfficientNetConfig.v2Variants`), nil for V1.
    let v2Variant: String?
    /// Normalization weights for V1 (keras' EfficientNetV2 has none): mean, variance.
    let normalization: (mean: [Float], variance: [Float])?
    let plan: KerasExport.Plan

    /// keras.applications' BatchNormalization epsilon (layer config, not a weight).
    static let kerasEpsilon: Float = 1e-3

    /// The names keras.applications gives the variants this exporter writes.
    static let v2KerasVariants: Set<String> = [
        "efficientnet_v2_b0", "efficientnet_v2_b1", "efficientnet_v2_b2", "efficientnet_v2_b3",
        "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    ]

    /// - Throws: `KerasExportError`.
    init(_ c: EfficientNetConfig) throws {
        config = c
        var notes: [String] = []
        // Conventions every keras.applications EfficientNet bakes in.
        guard c.activation == .silu else {
            throw KerasExportError(.activation, "\(c.name) uses \(c.activation.rawValue); keras.applications' EfficientNets use swish",
                                   alternatives: "EfficientNet-Lite (ReLU6) goes to --to lite, .onnx or .effw")
        }
        try Self.checkClassifier(c)
        if c.batchNormFolded {
            notes.append("batch norm was folded into the convolutions (an ONNX source): written as identity batch norms (gamma 1, beta = the conv bias, mean 0, variance 1 - 0.001, keras' epsilon)")
        }
        for (i, b) in c.blocks.enumerated() where b.hasResidual != b.canHaveResidual {
            throw KerasExportError(.residual, "block \(i) \(b.hasResidual ? "adds" : "skips") the residual where keras.applications \(b.canHaveResidual ? "adds" : "has") none",
                                   alternatives: "transformers' layout (--to hf), .onnx or .effw hold it")
        }

        // Structure: exactly what one of keras' builders makes.
        let constructor: String, defaultSize: Int?, builder: KerasExport.Plan.Builder
        if c.isV2 {
            guard let scaling = Self.v2Scaling(c) else {
                throw KerasExportError(.structure, "\(c.name) is an EfficientNetV2 structure that keras' EfficientNetV2 builder does not make (keras.applications has B0-B3, S, M and L and their width/depth scalings; timm's efficientnetv2_rw_* are not among them)",
                                       alternatives: "write it to its own family (--to timm, --to torchvision), .onnx or .effw")
            }
            guard c.inputChannels == 3 else {
                throw KerasExportError(.structure, "\(c.inputChannels) input channels: keras' EfficientNetV2 preprocessing is defined for RGB only",
                                       alternatives: ".onnx or .effw")
            }
            isV2 = true
            v2Variant = scaling.variant
            kerasBlocks = scaling.config.blocks
            if let named = scaling.named {
                constructor = "keras.applications.\(KerasAnalysis.kerasV2Name(named.name))(weights=None, classes=\(c.numClasses))"
                defaultSize = named.resolution
            } else {
                constructor = "keras.src.applications.efficientnet_v2.EfficientNetV2(width_coefficient=\(scaling.width), depth_coefficient=\(scaling.depth), default_size=224, name='\(scaling.modelName)', weights=None, classes=\(c.numClasses))"
                defaultSize = nil
            }
            modelName = scaling.modelName
            builder = .init(width: scaling.width, depth: scaling.depth, blocksArgs: scaling.modelName)
        } else {
            guard let scaling = Self.v1Scaling(c) else {
                throw KerasExportError(.structure, "\(c.name)'s channels, kernels, strides or SE widths are not what keras.applications' EfficientNet builder makes at any width and depth",
                                       alternatives: ".onnx or .effw hold any structure; a PyTorch family holds its own variants")
            }
            isV2 = false
            v2Variant = nil
            kerasBlocks = scaling.config.blocks
            builder = .init(width: scaling.width, depth: scaling.depth, blocksArgs: nil)
            if let n = scaling.variant {
                constructor = "keras.applications.EfficientNetB\(n)(weights=None, classes=\(c.numClasses))"
                modelName = "efficientnetb\(n)"
                defaultSize = EfficientNetConfig.compoundScaling[n].resolution
            } else {
                let size = c.padding.imageSize ?? [224, 224]
                constructor = "keras.src.applications.efficientnet.EfficientNet(width_coefficient=\(scaling.width), depth_coefficient=\(scaling.depth), default_size=\(size[0]), weights=None, classes=\(c.numClasses))"
                modelName = "efficientnet"
                defaultSize = nil
            }
        }

        // Padding: keras pads as TF "SAME" at the size the model is built for.
        let inputSize = try Self.checkPadding(c, defaultSize: defaultSize, notes: &notes)
        // With batch norm folded away the epsilon is gone too: the identity batch norms are
        // written for keras' 1e-3.
        guard c.batchNormFolded || abs(Double(c.bnEpsilon) - Double(Self.kerasEpsilon)) < 1e-9 else {
            throw KerasExportError(.batchNormEpsilon, "\(c.name) uses batch norm epsilon \(c.bnEpsilon); keras.applications uses 1e-3 (BatchNormalization epsilon is layer config, not a weight)",
                                   alternatives: "epsilon 1e-5 models go to --to torchvision (B0-B4) or --to timm, or .onnx / .effw")
        }

        // Input convention: 0-255 pixels in, the model's preprocessing inside.
        let affine = Self.inputAffine(c)
        var norm: (mean: [Float], variance: [Float])? = nil
        if isV2 {
            try Self.checkV2Preprocessing(affine, variant: v2Variant, name: c.name, notes: &notes)
        } else {
            let n = try Self.normalization(for: affine, name: c.name)
            norm = n
            notes.append("input: 0-255 pixels; Rescaling(1/255) then Normalization(mean \(Self.format(n.mean)), variance \(Self.format(n.variance))) hold the model's preprocessing (\(Self.describe(c)))")
        }
        let sizeText = inputSize.map { " built for \($0[0])x\($0[1])" } ?? ""
        notes.append("output: the weights do not say whether predictions ends in softmax; keras' default classifier_activation='softmax' gives probabilities, classifier_activation=None the logits\(c.finalSoftmax ? "" : " this model gives")")
        normalization = norm
        plan = KerasExport.Plan(kerasModel: constructor, modelName: modelName, builder: builder, inputSize: inputSize,
                                inputConvention: "0-255 pixels, NHWC (the Keras model\(sizeText) normalises inside)",
                                notes: notes)
    }

    // MARK: Checks

    /// keras.applications' head is one Dense layer ("predictions"); dropout around it is a no-op.
    private static func checkClassifier(_ c: EfficientNetConfig) throws {
        guard let chain = c.classifierChain else { return }
        let effective = chain.filter { $0.kind != .dropout && $0.kind != .flatten }
        guard effective.count == 1, effective[0].kind == .linear else {
            let kinds = chain.map(\.kind.rawValue).joined(separator: ", ")
            throw KerasExportError(.classifier, "\(c.name)'s classifier is a chain (\(kinds)); keras.applications' head is one Dense layer 'predictions'",
                                   alternatives: "a PyTorch target keeps the chain (--to torchvision, --to timm), as do .onnx and .effw")
        }
    }

    /// The static input size the Keras model must be built for, nil when any size works.
    private static func checkPadding(_ c: EfficientNetConfig, defaultSize: Int?, notes: inout [String]) throws -> [Int]? {
        // The kernels of the stride-2 convolutions, in order (keras pads each by its input's parity).
        let strided = (c.stem.stride == 2 ? [c.stem.kernel] : []) + c.blocks.filter { $0.stride == 2 }.map(\.kernel)
        guard c.stem.stride <= 2, c.blocks.allSatisfy({ $0.stride <= 2 }), c.blocks.allSatisfy({ $0.kernel % 2 == 1 }), c.stem.kernel % 2 == 1 else {
            throw KerasExportError(.structure, "strides above 2 or even kernels", alternatives: ".onnx or .effw")
        }
        let defaultText = defaultSize.map { "\($0)x\($0)" }
        switch c.padding.mode {
        case .symmetric:
            throw KerasExportError(.padding, "\(c.name) pads symmetrically (k//2 on every side, PyTorch's padding); keras.applications pads TF \"SAME\" ((k//2 - 1, k//2) before a stride-2 convolution at even sizes), which these weights cannot reproduce",
                                   alternatives: "symmetric padding goes to --to torchvision, --to timm or --to seed, or .onnx / .effw")
        case .sameDynamic:
            if let defaultSize {
                notes.append("padding: TF SAME from the actual input; keras' model, built for its default \(defaultText!), pads the same at that size")
                return [defaultSize, defaultSize]
            }
            notes.append("padding: TF SAME from the actual input; build the Keras model for the input size you run it at")
            return nil
        case .sameStatic:
            let size = c.padding.imageSize ?? []
            guard size.count == 2 else { return nil }
            guard let defaultSize else {
                notes.append("padding: static SAME for \(size[0])x\(size[1]): build the Keras model for \(size[0])x\(size[1]) (default_size)")
                return size
            }
            let want = KerasAnalysis.parities(defaultSize, strided.count)
            guard KerasAnalysis.parities(size[0], strided.count) == want, KerasAnalysis.parities(size[1], strided.count) == want else {
                throw KerasExportError(.padding, "\(c.name) pads static SAME computed for \(size[0])x\(size[1]); keras.applications builds this variant for \(defaultText!), whose halvings pad differently at a stride-2 convolution",
                                       alternatives: "lukemelas-style static padding goes to --to lukemelas, or .onnx / .effw")
            }
            notes.append("padding: static SAME for \(size[0])x\(size[1]), the same as keras' at its default \(defaultText!)")
            return [defaultSize, defaultSize]
        }
    }

    /// pixel (0-255) -> the tensor the stem sees, per channel: imagePreprocessing, then the
    /// in-model inputTransform.
    static func inputAffine(_ c: EfficientNetConfig) -> (scale: [Double], offset: [Double]) {
        let p = c.imagePreprocessing
        // 1/255 stored as a Float is 1/255 meant exactly.
        let pixel = p.pixelScale == Float(1.0 / 255) ? 1.0 / 255 : Double(p.pixelScale)
        var scale: [Double] = [], offset: [Double] = []
        for ch in 0 ..< c.inputChannels {
            let std = Double(p.std[ch]), mean = Double(p.mean[ch])
            var a = pixel / std, b = -mean / std
            if let t = c.inputTransform {
                a *= Double(t.scale[ch])
                b = b * Double(t.scale[ch]) + Double(t.offset[ch])
            }
            scale.append(a)
            offset.append(b)
        }
        return (scale, offset)
    }

    /// Keras: x / 255, then (x - mean) / sqrt(variance). Solving a x + b for mean and variance.
    private static func normalization(for affine: (scale: [Double], offset: [Double]), name: String) throws -> (mean: [Float], variance: [Float]) {
        var mean: [Float] = [], variance: [Float] = []
        for (a, b) in zip(affine.scale, affine.offset) {
            let sd = 1 / (255 * a)
            guard a > 0, a.isFinite, b.isFinite, sd >= 1e-6, sd.isFinite else {
                throw KerasExportError(.preprocessing, "\(name) maps a pixel p to \(a) p + \(b), which keras' Rescaling(1/255) + Normalization cannot express (it needs a positive scale)",
                                       alternatives: ".onnx or .effw keep any input transform")
            }
            mean.append(Float(-b * sd))
            variance.append(Float(sd * sd))
        }
        return (mean, variance)
    }

    private static func checkV2Preprocessing(_ affine: (scale: [Double], offset: [Double]), variant: String?, name: String, notes: inout [String]) throws {
        guard let keras = try? KerasAnalysis.v2Preprocessing(variant: variant, channels: affine.scale.count, path: name) else { return }
        let fits = affine.scale.indices.allSatisfy { ch in
            abs(affine.scale[ch] - keras.scale[ch]) <= 1e-5 * abs(keras.scale[ch]) && abs(affine.offset[ch] - keras.offset[ch]) <= 1e-5 * max(1, abs(keras.offset[ch]))
        }
        let steps = keras.steps.joined(separator: "; ")
        guard fits else {
            throw KerasExportError(.preprocessing, "\(name) expects its input as \(Self.formatAffine(affine)) of 0-255 pixels; keras' \(KerasAnalysis.kerasV2Name(variant ?? "")) applies \(steps) inside the model (layer config, not weights)",
                                   alternatives: "a PyTorch target takes the model's own normalised input (--to torchvision, --to timm), as do .onnx and .effw")
        }
        notes.append("input: 0-255 pixels; keras' \(KerasAnalysis.kerasV2Name(variant ?? "")) applies \(steps), which is this model's preprocessing")
    }

    // MARK: Structure

    /// Blocks equal in everything keras builds (kind, widths, kernel, stride, SE width, projection).
    static func sameBlocks(_ a: EfficientNetConfig, _ b: EfficientNetConfig) -> Bool {
        guard a.stem == b.stem, a.headChannels == b.headChannels, a.blocks.count == b.blocks.count else { return false }
        return zip(a.blocks, b.blocks).allSatisfy { x, y in
            x.kind == y.kind && x.inChannels == y.inChannels && x.outChannels == y.outChannels && x.expandedChannels == y.expandedChannels
                && x.kernel == y.kernel && x.stride == y.stride && x.seChannels == y.seChannels && x.hasProjection == y.hasProjection
                && x.hasExpansion == y.hasExpansion
        }
    }

    /// keras' EfficientNet(width_coefficient, depth_coefficient) that builds `c`: B0-B7 by name, or
    /// a custom scaling whose rebuild equals it.
    static func v1Scaling(_ c: EfficientNetConfig) -> (variant: Int?, width: Double, depth: Double, config: EfficientNetConfig)? {
        guard c.blocks.allSatisfy({ $0.kind == .mbconv }) else { return nil }
        for n in 0 ... 7 {
            let s = EfficientNetConfig.compoundScaling[n]
            let p = EfficientNetConfig.scaled(name: "", width: s.width, depth: s.depth, numClasses: c.numClasses, seRule: .quarterOfBlockInput)
            if sameBlocks(c, p) { return (n, s.width, s.depth, p) }
        }
        // A custom scaling: the multipliers the stage widths and repeats allow, rebuilt and compared.
        var outs: [Int] = [], reps: [Int] = []
        // A stage starts where the stage number changes, a block strides, or the width changes.
        for (i, b) in c.blocks.enumerated() {
            if i > 0, b.stage == c.blocks[i - 1].stage, b.stride == 1, b.inChannels == b.outChannels {
                reps[reps.count - 1] += 1
            } else {
                outs.append(b.outChannels); reps.append(1)
            }
        }
        guard outs.count == EfficientNetConfig.b0Stages.count,
              let d = TorchVariant.depthRange(repeats: reps, fixedEnds: false) else { return nil }
        let depth = (d.lo + d.hi) / 2
        for step in Self.widthSteps {
            let width = Double(step) / 1000
            guard EfficientNetConfig.roundChannels(32, width: width) == c.stem.outChannels,
                  EfficientNetConfig.roundChannels(1280, width: width) == c.headChannels else { continue }
            let p = EfficientNetConfig.scaled(name: "", width: width, depth: depth, numClasses: c.numClasses, seRule: .quarterOfBlockInput)
            if sameBlocks(c, p) { return (nil, width, (depth * 1000).rounded() / 1000, p) }
        }
        return nil
    }

    /// keras' EfficientNetV2 builder that makes `c`: a named variant (B0-B3, S, M, L), or one of
    /// the architectures scaled by a width and depth (keras rounds widths to multiples of 8
    /// without V1's 90% floor, repeats up to ceil(depth * r)).
    static func v2Scaling(_ c: EfficientNetConfig) -> (named: EfficientNetConfig.V2Variant?, variant: String?, modelName: String,
                                                        width: Double, depth: Double, config: EfficientNetConfig)? {
        let keras = EfficientNetConfig.v2Variants.filter { v2KerasVariants.contains($0.name) }
        for v in keras {
            let p = v.config(numClasses: c.numClasses)
            if sameBlocks(c, p) { return (v, v.name, modelName(v.name), v.width, v.depth[0], p) }
        }
        // Stage repeats as the blocks give them (a stage starts where the stage number changes).
        var reps: [Int] = []
        for (i, b) in c.blocks.enumerated() {
            if i > 0, b.stage == c.blocks[i - 1].stage { reps[reps.count - 1] += 1 } else { reps.append(1) }
        }
        let architectures: [(EfficientNetConfig.V2Architecture, String)] = [(.base, "efficientnet_v2_b0"), (.s, "efficientnet_v2_s"), (.m, "efficientnet_v2_m"), (.l, "efficientnet_v2_l")]
        for (arch, family) in architectures where arch.stages.count == reps.count {
            var lo = 0.0, hi = Double.infinity
            for (spec, n) in zip(arch.stages, reps) {
                lo = max(lo, Double(n - 1) / Double(spec.repeats)); hi = min(hi, Double(n) / Double(spec.repeats))
            }
            guard lo < hi else { continue }
            let depth = (lo + hi) / 2
            for step in Self.widthSteps {
                let width = Double(step) / 1000
                guard EfficientNetConfig.roundChannels(arch.stemChannels, width: width, roundLimit: 0) == c.stem.outChannels,
                      EfficientNetConfig.roundChannels(arch.headChannels, width: width, roundLimit: 0) == c.headChannels else { continue }
                let p = EfficientNetConfig.v2(arch, name: family, width: width, depth: [depth], roundLimit: 0, numClasses: c.numClasses)
                if sameBlocks(c, p) {
                    let variant = arch == .base ? nil : family
                    return (nil, variant, modelName(family), width, (depth * 1000).rounded() / 1000, p)
                }
            }
        }
        return nil
    }

    /// Width multipliers to try, in thousandths: round values first (0.05, 0.1, ...), so a
    /// model made at width 0.1 is reported as 0.1, not as the first value rounding alike.
    static let widthSteps: [Int] = Array(stride(from: 50, through: 5000, by: 50)) + Array(stride(from: 10, through: 5000, by: 10))
        + Array(10 ... 5000)

    /// keras' model name for a V2 variant: "efficientnet_v2_s" -> "efficientnetv2-s".
    private static func modelName(_ variant: String) -> String {
        "efficientnetv2-" + variant.dropFirst("efficientnet_v2_".count)
    }

    // MARK: Text

    private static func describe(_ c: EfficientNetConfig) -> String {
        let p = c.imagePreprocessing
        var s = "pixels x \(format([p.pixelScale])), mean \(format(p.mean)), std \(format(p.std))"
        if let t = c.inputTransform { s += ", then x \(format(t.scale)) + \(format(t.offset)) inside the model" }
        return s
    }

    private static func formatAffine(_ a: (scale: [Double], offset: [Double])) -> String {
        "p x \(format(a.scale.map { Float($0) })) + \(format(a.offset.map { Float($0) }))"
    }

    static func format(_ v: [Float]) -> String {
        let parts = v.map { String(format: "%.6g", Double($0)) }
        return parts.count == 1 ? parts[0] : "[" + parts.joined(separator: ", ") + "]"
    }
}

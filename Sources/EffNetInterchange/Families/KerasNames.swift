import EffNet

/// keras.applications' EfficientNet (V1 and V2) layer names, spelled once for the reader
/// (`KerasAnalysis`, `KerasCounterNaming`) and the writer (`KerasExport`).
///
///     stem_conv, stem_bn                       stem
///     block<stage><letter>_expand_conv/_bn     MBConv 1x1 expansion; Fused-MBConv k x k conv
///     block1a_dwconv (V1) / _dwconv2 (V2), _bn depthwise conv and its batch norm
///     block1a_se_reduce, _se_expand            squeeze-and-excitation
///     block1a_project_conv/_bn                 projection (the k x k conv of a fused block
///                                              without expansion)
///     top_conv, top_bn, predictions            head and classifier
///
/// keras' builders number stages from 1 and letter the blocks of a stage with `chr(j + 97)`.
enum KerasNames {
    static let stem = SourceUnitName(conv: "stem_conv", norm: "stem_bn")
    static let head = SourceUnitName(conv: "top_conv", norm: "top_bn")
    static let classifier = "predictions"

    /// "block2a": `stage` 1-based, `index` the block's position in its stage.
    static func blockID(stage: Int, index: Int) -> String {
        "block\(stage)\(Character(UnicodeScalar(UInt8(clamping: 97 + max(0, index)))))"
    }

    /// A block's layer: "block2a" + "project_conv" -> "block2a_project_conv".
    static func layer(_ block: String, _ role: String) -> String { "\(block)_\(role)" }

    /// The depthwise layer of a block: `_dwconv` in EfficientNet, `_dwconv2` in EfficientNetV2.
    static func depthwise(_ block: String, v2: Bool) -> String { layer(block, v2 ? "dwconv2" : "dwconv") }

    /// The ZeroPadding2D keras.applications' EfficientNet puts before a stride-2 convolution.
    static func padding(of conv: String) -> String { "\(conv)_pad" }

    /// The layers holding one unit of block `block`: its convolution and batch norm.
    /// - Parameters:
    ///   - depthwise: the block's depthwise layer (`depthwise(_:v2:)`, or the name a file uses).
    ///   - fusedExpands: for `.fused`, whether a projection follows (then the k x k conv is the
    ///     `expand_conv`; without one it is the `project_conv`).
    static func unit(_ part: ParameterLayout.BlockPart, block: String, depthwise: String, fusedExpands: Bool) -> SourceUnitName {
        switch part {
        case .expand: return .init(conv: layer(block, "expand_conv"), norm: layer(block, "expand_bn"))
        case .depthwise: return .init(conv: depthwise, norm: layer(block, "bn"))
        case .fused: return fusedExpands ? unit(.expand, block: block, depthwise: depthwise, fusedExpands: true)
            : unit(.project, block: block, depthwise: depthwise, fusedExpands: false)
        case .seReduce: return .init(conv: layer(block, "se_reduce"), norm: nil)
        case .seExpand: return .init(conv: layer(block, "se_expand"), norm: nil)
        case .project: return .init(conv: layer(block, "project_conv"), norm: layer(block, "project_bn"))
        }
    }
}

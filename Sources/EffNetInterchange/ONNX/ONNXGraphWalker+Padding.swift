import EffNet
import EffNetONNX

extension ONNXGraphWalker {
    /// Image sizes tried first when looking for the static SAME padding's nominal size: the
    /// published EfficientNet resolutions (B0-B7, Lite0-4) and common crops.
    static let nominalSizes = [224, 240, 260, 280, 300, 380, 456, 528, 600, 256, 288, 320, 384, 512]

    /// The config's padding rule from the pads the graph applies.
    ///
    /// - every spatial conv pads k//2 on each side: `.symmetric`;
    /// - some pads are computed from the input's shape at run time (SAME_UPPER, or a Pad fed by
    ///   Shape arithmetic as timm's tf_ models export with dynamic axes): `.sameDynamic`;
    /// - fixed asymmetric pads: `.sameStatic` with the image size whose TF SAME arithmetic
    ///   reproduces every conv's pads (the graph's declared input size when it does, as in Keras
    ///   and dynamo exports; otherwise the first size that fits, e.g. lukemelas' nominal size).
    /// - Throws: `MappingError.unsupported` when the pads fit none of these.
    func padding(_ s: ONNXNetworkStructure, declared: (h: Int?, w: Int?)) throws -> EfficientNetConfig.Padding {
        let zero = ONNXConvUnit.Padding.fixed(ConvPadding(top: 0, bottom: 0, left: 0, right: 0))
        var pointwise = s.blocks.flatMap { b in [b.expand, b.project, b.se?.reduce, b.se?.expand].compactMap { $0 } } + [s.head]
        if case let .conv(c) = s.classifier { pointwise.append(c) }
        for u in pointwise where u.padding != zero { throw view.fail(u.node, "a 1x1 convolution with padding \(u.padding)") }

        let spatial = [s.stem] + s.blocks.map(\.spatial)
        if spatial.contains(where: { $0.padding == .dynamicSame }) {
            for u in spatial {
                guard case let .fixed(p) = u.padding else { continue }
                guard u.stride == 1, p == .symmetric(kernel: u.kernel) else {
                    throw view.fail(u.node, "fixed padding \(p) in a graph whose other convolutions pad dynamically (TF SAME)")
                }
            }
            return .sameDynamic
        }
        let pads: [ConvPadding] = spatial.map { if case let .fixed(p) = $0.padding { return p } else { return ConvPadding(top: 0, bottom: 0, left: 0, right: 0) } }
        if zip(spatial, pads).allSatisfy({ $1 == .symmetric(kernel: $0.kernel) }) { return .symmetric }

        func fits(_ size: Int, vertical: Bool) -> Bool {
            var x = size
            for (u, p) in zip(spatial, pads) {
                let same = ConvPadding.same(height: x, width: x, kernel: u.kernel, stride: u.stride)
                if vertical ? (same.top, same.bottom) != (p.top, p.bottom) : (same.left, same.right) != (p.left, p.right) { return false }
                x = (x + u.stride - 1) / u.stride
            }
            return true
        }
        func search(_ declared: Int?, vertical: Bool) -> Int? {
            let candidates = [declared].compactMap { $0 } + Self.nominalSizes + Array(1 ... 4096)
            return candidates.first { fits($0, vertical: vertical) }
        }
        guard let h = search(declared.h, vertical: true), let w = search(declared.w, vertical: false) else {
            let list = zip(spatial, pads).map { "\(view.nodes[$0.node].label): k\($0.kernel) s\($0.stride) pads (t\($1.top) b\($1.bottom) l\($1.left) r\($1.right))" }
            throw view.fail(nil, "the convolution pads fit neither k//2 nor TF SAME at any image size: " + list.joined(separator: "; "))
        }
        return .init(mode: .sameStatic, imageSize: [h, w])
    }
}

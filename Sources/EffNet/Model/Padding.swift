/// Explicit (top, bottom, left, right) zero padding of one convolution.
public struct ConvPadding: Equatable, Sendable {
    public var top, bottom, left, right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }

    /// k//2 on every side.
    public static func symmetric(kernel: Int) -> ConvPadding {
        ConvPadding(top: kernel / 2, bottom: kernel / 2, left: kernel / 2, right: kernel / 2)
    }

    /// TensorFlow "SAME" for an input of `height` x `width`: total = max((ceil(i/s)-1)*s + k - i, 0),
    /// the smaller half before, the larger after.
    public static func same(height: Int, width: Int, kernel: Int, stride: Int) -> ConvPadding {
        func split(_ i: Int) -> (Int, Int) {
            let o = (i + stride - 1) / stride
            let total = max((o - 1) * stride + kernel - i, 0)
            return (total / 2, total - total / 2)
        }
        let (t, b) = split(height), (l, r) = split(width)
        return ConvPadding(top: t, bottom: b, left: l, right: r)
    }

    /// TensorFlow "SAME" for every k x k convolution of `config` (index 0 the stem, i + 1 block
    /// i's spatial convolution) on a `height` x `width` input: what `sameStatic` fixes from the
    /// nominal size, and what `sameDynamic` computes for that input (each SAME convolution gives
    /// ceil(size / stride)).
    public static func same(config: EfficientNetConfig, height: Int, width: Int) -> [ConvPadding] {
        var h = height, w = width, plan: [ConvPadding] = []
        for (kernel, stride) in [(config.stem.kernel, config.stem.stride)] + config.blocks.map({ ($0.kernel, $0.stride) }) {
            plan.append(.same(height: h, width: w, kernel: kernel, stride: stride))
            h = (h + stride - 1) / stride
            w = (w + stride - 1) / stride
        }
        return plan
    }

    /// Output size along one axis, or nil when the kernel does not fit.
    static func outputSize(_ input: Int, before: Int, after: Int, kernel: Int, stride: Int) -> Int? {
        let span = input + before + after - kernel
        return span >= 0 ? span / stride + 1 : nil
    }
}

/// Where a network's convolutions take their padding from, resolved per convolution.
struct PaddingResolver {
    let rule: EfficientNetConfig.Padding
    /// For `sameStatic`: each conv's padding, fixed from the nominal size, by conv index.
    private var fixed: [ConvPadding] = []

    /// Conv indices: 0 = stem, then each block's depthwise conv in order. (1x1 convs never pad.)
    init(config: EfficientNetConfig) {
        rule = config.padding
        guard rule.mode == .sameStatic, let size = rule.imageSize, size.count == 2 else { return }
        fixed = ConvPadding.same(config: config, height: size[0], width: size[1])
    }

    func padding(convIndex: Int, kernel: Int, stride: Int, height: Int, width: Int) -> ConvPadding {
        switch rule.mode {
        case .symmetric: return .symmetric(kernel: kernel)
        case .sameDynamic: return .same(height: height, width: width, kernel: kernel, stride: stride)
        case .sameStatic: return fixed[convIndex]
        }
    }
}

extension EfficientNetConfig {
    /// Every padded convolution's padding (the stem, then each block's k x k convolution) for an
    /// input of `height` x `width`: what two frameworks' conventions are compared by, since a rule
    /// such as TF "SAME" and a fixed padding agree at some sizes only.
    public func convPaddings(height: Int, width: Int) -> [ConvPadding] {
        let resolver = PaddingResolver(config: self)
        var h = height, w = width
        var out = [resolver.padding(convIndex: 0, kernel: stem.kernel, stride: stem.stride, height: h, width: w)]
        h = (h + stem.stride - 1) / stem.stride
        w = (w + stem.stride - 1) / stem.stride
        for (i, b) in blocks.enumerated() {
            out.append(resolver.padding(convIndex: i + 1, kernel: b.kernel, stride: b.stride, height: h, width: w))
            h = (h + b.stride - 1) / b.stride
            w = (w + b.stride - 1) / b.stride
        }
        return out
    }
}

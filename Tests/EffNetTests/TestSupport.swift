import EffNet
import Foundation
import XCTest

/// Small deterministic models and temporary folders for the core tests.
enum TestSupport {
    /// A tiny scaled EfficientNet (width 0.25, depth 0.25, 7 classes).
    static func tinyConfig(padding: EfficientNetConfig.Padding = .symmetric) -> EfficientNetConfig {
        var c = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 7, padding: padding)
        c.headChannels = 32
        return c
    }

    /// A model with pseudo-random weights (fixed seed) and positive running variances.
    static func randomModel(_ config: EfficientNetConfig = tinyConfig(), seed: UInt64 = 1) throws -> EfficientNet {
        let model = try EfficientNet(config: config)
        var rng = SplitMix(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let n = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = name.hasSuffix("running_var") ? 0 : Float(1) / Float(fanIn).squareRoot()
            var v = (0 ..< n).map { _ in (rng.nextFloat() * 2 - 1) * scale }
            if name.hasSuffix("running_var") { v = (0 ..< n).map { _ in 0.5 + rng.nextFloat() } }
            if name.hasSuffix("bn.weight") { v = v.map { 1 + $0 } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try model.load(tensors)
        return model
    }

    static func randomInput(_ shape: [Int], seed: UInt64 = 7) -> Tensor {
        var rng = SplitMix(seed: seed)
        return Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in rng.nextFloat() * 4 - 2 })
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

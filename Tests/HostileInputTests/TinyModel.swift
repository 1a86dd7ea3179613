import EffNet
import Foundation

/// A small deterministic EfficientNet, written as .effw by the tests (a valid file to damage).
enum TinyModel {
    static func make(seed: UInt64 = 11) throws -> EfficientNet {
        var config = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 5)
        config.headChannels = 24
        let model = try EfficientNet(config: config)
        var rng = SplitMix(state: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let n = shape.reduce(1, *)
            let values: [Float] = (0 ..< n).map { _ in
                let u = Float(rng.next() >> 40) / Float(1 << 24)
                return name.hasSuffix("running_var") ? 0.5 + u : u - 0.5
            }
            tensors[name] = Tensor(shape: shape, scalars: values)
        }
        try model.load(tensors)
        return model
    }

    /// Writes the tiny model to `path` and returns its bytes.
    @discardableResult
    static func writeEffw(to path: String) throws -> [UInt8] {
        let model = try make()
        model.provenance = Provenance(sourceFile: "tiny", sourceFormat: "test", family: "test")
        try model.write(to: URL(fileURLWithPath: path), overwrite: true)
        return try readFile(path)
    }

    static func input(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { Float(($0 * 7919) % 255) / 64 - 2 })
    }
}

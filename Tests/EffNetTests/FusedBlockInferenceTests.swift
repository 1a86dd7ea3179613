import EffNet
import XCTest

/// The fast forward pass of EfficientNetV2 models (Fused-MBConv blocks: the dense 3x3
/// convolutions, by Winograd F(2x2, 3x3) where the stride is 1 and by im2col where it is 2, with
/// and without the 1x1 projection, with the residual) on random weights generated here:
///
/// - the same floats, bit for bit, on 1, 2 and 3 threads (a layer is split by rows of output
///   tiles, each computed the same way whatever the split);
/// - within relative 1e-5 of the reference kernels (max |fast - reference| / max(1, max
///   |reference|), as `InferenceTests`), in the logits and in every observed stage.
///
/// Sizes are odd and non-square so that the Winograd convolutions have half-empty last tiles in
/// both directions; channels are not multiples of 16. The PyTorch fixtures (Fixtures/v2) check
/// the same path against the frameworks.
final class FusedBlockInferenceTests: XCTestCase {
    static let tolerance: Float = 1e-5

    /// Random weights with non-trivial batch norms, scaled by fan-in so activations stay O(1).
    private func model(_ config: EfficientNetConfig, seed: UInt64) throws -> EfficientNet {
        let m = try EfficientNet(config: config)
        var rng = SplitMix(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in m.parameterShapes {
            let n = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = 1.5 / Float(fanIn).squareRoot()
            var v = (0 ..< n).map { _ in (2 * rng.nextFloat() - 1) * scale }
            if name.hasSuffix("running_var") { v = (0 ..< n).map { _ in 0.6 + 0.8 * abs((2 * rng.nextFloat() - 1)) } }
            if name.hasSuffix("bn.weight") { v = (0 ..< n).map { _ in 0.8 + 0.4 * abs((2 * rng.nextFloat() - 1)) } }
            if name.hasSuffix("running_mean") || name.hasSuffix("bn.bias") { v = (0 ..< n).map { _ in 0.2 * (2 * rng.nextFloat() - 1) } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try m.load(tensors)
        return m
    }

    private func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SplitMix(seed: seed)
        return Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in 2 * (2 * rng.nextFloat() - 1) })
    }

    private func assertThreadIndependentAndMatchesReference(_ config: EfficientNetConfig, input shape: [Int],
                                                             file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(config.isV2, file: file, line: line)
        XCTAssertTrue(config.blocks.contains { $0.kind == .fused && $0.stride == 1 && $0.kernel == 3 }, file: file, line: line)
        let m = try model(config, seed: 21)
        let x = input(shape, seed: 5)
        m.inferenceOptions = InferenceOptions(kernels: .reference)
        let reference = try m(x)
        m.inferenceOptions = InferenceOptions(kernels: .fast, threads: 1)
        let one = try m(x)
        let c = Comparison(actual: one, reference: reference)
        XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance, "\(config.name) \(shape): \(c)", file: file, line: line)
        XCTAssertEqual(c.top1Agreement, 1, file: file, line: line)
        XCTAssertGreaterThan(c.maxAbsReference, 0, file: file, line: line)
        // Every block's output too: the logits of a deep random network move little even when a
        // block's output is badly wrong, its activations do not.
        func stages(_ kernels: InferenceOptions.Kernels) throws -> [(String, Tensor)] {
            m.inferenceOptions = InferenceOptions(kernels: kernels, threads: 2)
            var seen: [(String, Tensor)] = []
            _ = try m.forward(x) { seen.append(($0, $1)) }
            return seen
        }
        let refStages = try stages(.reference), fastStages = try stages(.fast)
        XCTAssertEqual(fastStages.map(\.0), refStages.map(\.0), file: file, line: line)
        XCTAssertGreaterThan(fastStages.count, config.blocks.count, file: file, line: line)
        for ((name, a), (_, b)) in zip(fastStages, refStages) {
            XCTAssertEqual(a.shape, b.shape, name, file: file, line: line)
            guard a.shape == b.shape else { continue }
            let s = Comparison(actual: a, reference: b)
            XCTAssertLessThanOrEqual(s.relativeError, Self.tolerance, "\(config.name) \(name): \(s)", file: file, line: line)
        }
        for t in [2, 3] {
            m.inferenceOptions = InferenceOptions(kernels: .fast, threads: t)
            let y = try m(x)
            XCTAssertEqual(y.shape, one.shape, file: file, line: line)
            XCTAssertTrue(y.scalars == one.scalars, "\(config.name) \(shape): \(t) threads differ from 1 thread: "
                + "\(Comparison(actual: y, reference: one))", file: file, line: line)
        }
    }

    /// torchvision-style V2-S structure (expand-1 fused stage with residual, expand-4 fused
    /// stages with projection), small width and depth, symmetric padding.
    func testV2SmallWidthOneImage() throws {
        let c = EfficientNetConfig.v2(.s, name: "v2-test", width: 0.5, depth: [0.3], numClasses: 7)
        try assertThreadIndependentAndMatchesReference(c, input: [1, 3, 70, 54])
    }

    /// A batch of three (two images side by side, then one with its layers split) and TF "SAME"
    /// padding, on the B0-B3 base structure.
    func testV2BaseSamePaddingBatchOfThree() throws {
        let c = EfficientNetConfig.v2(.base, name: "v2-base-test", width: 0.6, depth: [0.5], numClasses: 5,
                                      padding: .sameDynamic)
        try assertThreadIndependentAndMatchesReference(c, input: [3, 3, 58, 66])
    }

    /// timm's rw structure: the first stage's expand-1 fused blocks have a projection.
    func testV2RwFusedProjection() throws {
        let c = EfficientNetConfig.v2(.rw, name: "v2-rw-test", width: 0.5, depth: [0.3], numClasses: 4)
        try assertThreadIndependentAndMatchesReference(c, input: [1, 3, 61, 75])
    }
}

import EffNet
import Foundation
import XCTest

/// The fast forward pass (BN folded, NHWC SIMD kernels, threads) against the reference kernels on
/// random-weight models of every convention the fast path handles: padding rules (symmetric,
/// TF "SAME" dynamic, static from a nominal size with asymmetric pads), SiLU and ReLU6, SE and no
/// SE, batch norm or folded biases, input transform, final softmax, batches, odd and non-square
/// sizes, fused and unfused blocks, 1-3 threads.
///
/// Tolerance: max |fast - reference| / max(1, max |reference|) <= 1e-5 (the two differ only in
/// summation order and BN folding; the contract's 1e-4 is for framework-vs-Swift).
final class InferenceTests: XCTestCase {
    static let tolerance: Float = 1e-5

    // MARK: Helpers

    /// Pseudo-random weights with non-trivial batch norms (scale, shift, mean and variance all
    /// random), so that folding BN is really exercised.
    private func model(_ config: EfficientNetConfig, seed: UInt64 = 11) throws -> EfficientNet {
        let m = try EfficientNet(config: config)
        var rng = Rng(seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in m.parameterShapes {
            let n = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = 1.5 / Float(fanIn).squareRoot()
            var v = (0 ..< n).map { _ in rng.uniform() * scale }
            if name.hasSuffix("running_var") { v = (0 ..< n).map { _ in 0.6 + 0.8 * abs(rng.uniform()) } }
            if name.hasSuffix("bn.weight") { v = (0 ..< n).map { _ in 0.8 + 0.4 * abs(rng.uniform()) } }
            if name.hasSuffix("running_mean") || name.hasSuffix("bn.bias") { v = (0 ..< n).map { _ in 0.2 * rng.uniform() } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try m.load(tensors)
        return m
    }

    private func input(_ shape: [Int], seed: UInt64 = 3) -> Tensor {
        var rng = Rng(seed)
        return Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in 2 * rng.uniform() })
    }

    private func run(_ m: EfficientNet, _ x: Tensor, _ options: InferenceOptions) throws -> Tensor {
        m.inferenceOptions = options
        return try m(x)
    }

    /// Fast (with `threads`, and both with every block fused and none) equals reference.
    private func assertFastMatchesReference(_ config: EfficientNetConfig, input shape: [Int], threads: [Int] = [1, 2],
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try model(config)
        let x = input(shape)
        let reference = try run(m, x, InferenceOptions(kernels: .reference))
        XCTAssertEqual(reference.shape, [shape[0], config.numClasses], file: file, line: line)
        for t in threads {
            for fuse in [0, Int.max] {
                let y = try run(m, x, InferenceOptions(kernels: .fast, threads: t, fuseBlocksAboveBytes: fuse))
                XCTAssertEqual(y.shape, reference.shape, file: file, line: line)
                guard y.shape == reference.shape else { return }
                let c = Comparison(actual: y, reference: reference)
                XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance,
                                         "\(config.name) \(shape) threads \(t) fuse \(fuse): \(c)", file: file, line: line)
                XCTAssertEqual(c.top1Agreement, 1, file: file, line: line)
            }
        }
    }

    private func small(_ name: String, padding: EfficientNetConfig.Padding = .symmetric,
                       activation: EfficientNetConfig.Activation = .silu, classes: Int = 6) -> EfficientNetConfig {
        var c = EfficientNetConfig.scaled(name: name, width: 0.5, depth: 0.5, numClasses: classes, padding: padding,
                                          activation: activation)
        c.headChannels = 96
        return c
    }

    // MARK: Configurations

    func testSeedB0MiniWithFewClasses() throws {
        try assertFastMatchesReference(.seedB0Mini(numClasses: 10), input: [1, 3, 64, 64], threads: [1])
    }

    func testSymmetricPaddingOddNonSquareInput() throws {
        try assertFastMatchesReference(small("sym"), input: [1, 3, 45, 37])
    }

    func testSameDynamicPaddingOddSizes() throws {
        try assertFastMatchesReference(small("dyn", padding: .sameDynamic), input: [1, 3, 57, 71])
    }

    /// Pads fixed from a nominal 64x64 (asymmetric at stride 2), run on a different, odd size.
    func testSameStaticPaddingAtAnotherSize() throws {
        try assertFastMatchesReference(small("static", padding: .sameStatic(64)), input: [1, 3, 49, 67])
    }

    /// Nominal 224 padding on a smaller input. (Sizes where a stride-2 layer's input is narrower
    /// than its kernel reach past the reference's column bounds; 96x80 stays clear of that.)
    func testLiteReLU6WithoutSE() throws {
        try assertFastMatchesReference(.lite(0, numClasses: 5), input: [1, 3, 96, 80], threads: [2])
    }

    func testFoldedBatchNormInputTransformAndSoftmax() throws {
        var c = small("folded", padding: .sameDynamic)
        c.batchNormFolded = true
        c.inputTransform = .init(scale: [0.5, 2, 1.5], offset: [-0.25, 0.1, 0.3])
        c.finalSoftmax = true
        try assertFastMatchesReference(c, input: [1, 3, 41, 33])
    }

    /// 3 images on 2 threads: one round of two images side by side, then one with split layers.
    func testBatchOfThreeNonSquare() throws {
        try assertFastMatchesReference(small("batch"), input: [3, 3, 40, 56], threads: [1, 2, 3])
    }

    // MARK: Observation, options, weights

    func testObservedStagesMatchReference() throws {
        let m = try model(small("observe", padding: .sameDynamic))
        let x = input([2, 3, 35, 50])
        func stages(_ kernels: InferenceOptions.Kernels) throws -> [(String, Tensor)] {
            m.inferenceOptions = InferenceOptions(kernels: kernels, threads: 2)
            var seen: [(String, Tensor)] = []
            _ = try m.forward(x) { seen.append(($0, $1)) }
            return seen
        }
        let ref = try stages(.reference), fast = try stages(.fast)
        XCTAssertEqual(fast.map(\.0), ref.map(\.0))
        XCTAssertEqual(fast.first?.0, "stem")
        XCTAssertEqual(fast.last?.0, "logits")
        for ((name, a), (_, b)) in zip(fast, ref) {
            XCTAssertEqual(a.shape, b.shape, name)
            guard a.shape == b.shape else { continue }
            XCTAssertLessThanOrEqual(Comparison(actual: a, reference: b).relativeError, Self.tolerance, name)
        }
    }

    /// The fast path's packed weights follow `load(_:)`: after new weights, it matches the
    /// reference on the new ones.
    func testPlanFollowsReloadedWeights() throws {
        let c = small("reload")
        let m = try model(c, seed: 1)
        let x = input([1, 3, 40, 40])
        let before = try run(m, x, InferenceOptions(kernels: .fast))
        let other = try model(c, seed: 2)
        try m.load(other.parameters)
        let after = try run(m, x, InferenceOptions(kernels: .fast))
        let reference = try run(m, x, InferenceOptions(kernels: .reference))
        XCTAssertNotEqual(before, after)
        XCTAssertLessThanOrEqual(Comparison(actual: after, reference: reference).relativeError, Self.tolerance)
    }

    func testRepeatedCallsAndThreadCountsGiveTheSameResult() throws {
        let m = try model(small("repeat"))
        let x = input([2, 3, 36, 36])
        let one = try run(m, x, InferenceOptions(kernels: .fast, threads: 1))
        XCTAssertEqual(try run(m, x, InferenceOptions(kernels: .fast, threads: 1)), one)
        for t in [2, 3] {
            let y = try run(m, x, InferenceOptions(kernels: .fast, threads: t))
            XCTAssertLessThanOrEqual(Comparison(actual: y, reference: one).relativeError, Self.tolerance)
        }
    }

    func testConcurrentCallsOnOneModel() throws {
        let m = try model(small("concurrent"))
        m.inferenceOptions = InferenceOptions(kernels: .fast, threads: 1)
        let inputs = (0 ..< 4).map { input([1, 3, 40, 40], seed: UInt64(10 + $0)) }
        let expected = try inputs.map { try m($0) }
        let results = UnsafeMutableBufferPointer<Tensor?>.allocate(capacity: inputs.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results  // each iteration writes its own slot
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in slots[i] = try? m(inputs[i]) }
        for i in inputs.indices { XCTAssertEqual(results[i], expected[i]) }
    }

    func testInputTooSmallForAConvolutionThrows() throws {
        let m = try model(small("tiny"))
        XCTAssertThrowsError(try m(input([1, 3, 16, 40]))) { XCTAssertTrue($0 is InputShapeError) }
    }
}

/// xorshift64*, values uniform in [-1, 1).
private struct Rng {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func uniform() -> Float {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        let v = state &* 0x2545_F491_4F6C_DD1D
        return Float(v >> 40) / Float(1 << 23) - 1
    }
}

import EffNet
import XCTest

/// `LayerProfile` (effnet-bench profile, Benchmarks/profile.sh): every layer of the fast pass is
/// counted once under its kind, and nothing is collected while it is off.
final class LayerProfileTests: XCTestCase {
    override func tearDown() { LayerProfile.enabled = false }

    func counts(_ model: EfficientNet, _ x: Tensor) throws -> [LayerProfile.Kind: (ms: Double, layers: Int)] {
        LayerProfile.enabled = true
        _ = try model(x)
        LayerProfile.enabled = false
        return Dictionary(uniqueKeysWithValues: LayerProfile.totals().map { ($0.kind, ($0.milliseconds, $0.layers)) })
    }

    func testEveryLayerIsCountedOnceUnderItsKind() throws {
        let model = try TestSupport.randomModel()
        let x = TestSupport.randomInput([1, 3, 64, 64])
        _ = try model(x)  // the plan is built before profiling
        let c = try counts(model, x)
        let blocks = model.config.blocks
        XCTAssertEqual(c[.stem]?.layers, 1)
        XCTAssertEqual(c[.head]?.layers, 1)
        XCTAssertEqual(c[.pool]?.layers, 1)
        XCTAssertEqual(c[.classifier]?.layers, 1)
        XCTAssertEqual((c[.expand]?.layers ?? 0) + (c[.expandDepthwise]?.layers ?? 0), blocks.filter(\.hasExpansion).count)
        XCTAssertEqual((c[.depthwise]?.layers ?? 0) + (c[.expandDepthwise]?.layers ?? 0), blocks.count)
        XCTAssertEqual(c[.squeezeExcite]?.layers, blocks.filter { $0.seChannels != nil }.count)
        XCTAssertEqual(c[.project]?.layers, blocks.count)
        XCTAssertGreaterThan(c.values.map(\.ms).reduce(0, +), 0)

        // Two images count twice; off, nothing is added.
        XCTAssertEqual(try counts(model, TestSupport.randomInput([2, 3, 64, 64]))[.project]?.layers, 2 * blocks.count)
        let before = LayerProfile.totals().map(\.layers)
        _ = try model(x)
        XCTAssertEqual(LayerProfile.totals().map(\.layers), before)
    }
}

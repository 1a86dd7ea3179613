import EffNet
import Foundation
import XCTest

final class ConfigPresetTests: XCTestCase {
    /// Elements in torchvision's efficientnet_bN().state_dict() without num_batches_tracked
    /// (printed by torchvision 0.28 on this machine; Fixtures/README.md has the one-liner).
    static let torchvisionStateDictElements = [5_330_564, 7_856_232, 9_177_562, 12_320_528,
                                               19_466_816, 30_562_520, 43_265_136, 66_658_680]

    func testCompoundScaledPresetsMatchTorchvisionSizes() throws {
        for (variant, expected) in Self.torchvisionStateDictElements.enumerated() {
            let model = try EfficientNet(config: .b(variant))
            XCTAssertEqual(model.parameterCount, expected, "B\(variant)")
        }
    }

    func testTorchvisionEpsilonChangesAtB5() {
        XCTAssertEqual(EfficientNetConfig.b(4).bnEpsilon, 1e-5)
        XCTAssertEqual(EfficientNetConfig.b(5).bnEpsilon, 1e-3)
    }

    func testSeedMiniFollowsTheNotebook() throws {
        let c = EfficientNetConfig.seedB0Mini()
        XCTAssertEqual(c.blocks.count, 16)
        // Block 1 expands 16 -> 96 and its SE is 96 // 4 = 24 wide (not 16 // 4 = 4).
        XCTAssertEqual(c.blocks[1].expandedChannels, 96)
        XCTAssertEqual(c.blocks[1].seChannels, 24)
        XCTAssertEqual(c.blocks[0].seChannels, 8)
        XCTAssertEqual(c.headChannels, 1280)
    }

    func testLitePresetsHaveNoSEAndFixedStemAndHead() {
        for v in 0 ... 4 {
            let c = EfficientNetConfig.lite(v)
            XCTAssertEqual(c.stem.outChannels, 32)
            XCTAssertEqual(c.headChannels, 1280)
            XCTAssertTrue(c.blocks.allSatisfy { $0.seChannels == nil })
            XCTAssertEqual(c.activation, .relu6)
            // first and last stage keep one block
            XCTAssertEqual(c.blocks.filter { $0.stage == 0 }.count, 1)
            XCTAssertEqual(c.blocks.filter { $0.stage == 6 }.count, 1)
        }
    }

    func testConfigRoundTripsThroughJSON() throws {
        for c in [EfficientNetConfig.b(3), .lite(2), .seedB0Mini(numClasses: 10)] {
            let data = try JSONEncoder().encode(c)
            XCTAssertEqual(try JSONDecoder().decode(EfficientNetConfig.self, from: data), c)
        }
    }

    func testInconsistentConfigIsRefused() {
        var c = EfficientNetConfig.b(0)
        c.blocks[3].inChannels = 17
        XCTAssertThrowsError(try c.validate())
        var d = EfficientNetConfig.b(0)
        d.padding = .init(mode: .sameStatic, imageSize: nil)
        XCTAssertThrowsError(try EfficientNet(config: d))
    }

    /// TF "SAME": total = max((ceil(i/s) - 1) * s + k - i, 0), smaller half first.
    func testSamePaddingArithmetic() {
        XCTAssertEqual(ConvPadding.same(height: 224, width: 224, kernel: 3, stride: 2), .init(top: 0, bottom: 1, left: 0, right: 1))
        XCTAssertEqual(ConvPadding.same(height: 75, width: 75, kernel: 5, stride: 2), .init(top: 2, bottom: 2, left: 2, right: 2))
        XCTAssertEqual(ConvPadding.same(height: 14, width: 15, kernel: 5, stride: 1), .init(top: 2, bottom: 2, left: 2, right: 2))
        XCTAssertEqual(ConvPadding.same(height: 112, width: 7, kernel: 5, stride: 2), .init(top: 1, bottom: 2, left: 2, right: 2))
    }
}

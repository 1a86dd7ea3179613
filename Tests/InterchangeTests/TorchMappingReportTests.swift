import EffNet
import EffNetInterchange
import XCTest

/// What the mapping tells a person: every source tensor's fate, and every problem at once, each
/// naming the tensor and both shapes.
final class TorchMappingReportTests: XCTestCase {
    func load(_ folder: String) throws -> SourceCheckpoint {
        try SourceReader.read(path: TorchFixtures.path(folder, TorchFixtures.Format.safetensors.rawValue))
    }

    /// The same tensors with a different shape (a view over the first elements of the original).
    func reshaped(_ t: SourceTensor, _ shape: [Int]) throws -> SourceTensor {
        SourceTensor(name: t.name, raw: try RawTensor(dtype: t.raw.dtype, shape: shape, offset: t.raw.offset, storage: t.raw.storage))
    }

    func testEveryFateIsReported() throws {
        let checkpoint = try load("torchvision")
        let mapping = try TorchFixtures.mapping(checkpoint, .torchvision)
        let fates = mapping.fates(for: checkpoint)
        XCTAssertEqual(fates.count, checkpoint.tensors.count)
        var mapped = 0, skipped = 0
        for (source, fate) in fates {
            switch fate {
            case let .mapped(canonical, transform):
                mapped += 1
                XCTAssertEqual(transform, .identity)
                if source == "classifier.1.weight" { XCTAssertEqual(canonical, "classifier.weight") }
                if source == "features.0.0.weight" { XCTAssertEqual(canonical, "stem.conv.weight") }
                if source == "features.1.0.block.0.0.weight" { XCTAssertEqual(canonical, "blocks.0.depthwise.conv.weight") }
                if source == "features.2.0.block.0.1.running_var" { XCTAssertEqual(canonical, "blocks.1.expand.bn.running_var") }
                if source == "features.2.0.block.2.fc1.bias" { XCTAssertEqual(canonical, "blocks.1.se.reduce.bias") }
            case let .skipped(reason):
                skipped += 1
                XCTAssertTrue(source.hasSuffix("num_batches_tracked"), source)
                XCTAssertTrue(reason.contains("num_batches_tracked"), reason)
            case .unused:
                XCTFail("\(source) unused")
            }
        }
        let model = try EfficientNet(config: mapping.config)
        XCTAssertEqual(mapped, model.parameterShapes.count)
        XCTAssertEqual(mapped + skipped, checkpoint.tensors.count)
    }

    /// A damaged state_dict: one tensor missing, two with wrong shapes, one extra. The strict load
    /// reports the missing and mismatched ones together (canonical and source names, both
    /// shapes); the extra one's fate is "unused".
    func testAllProblemsAtOnce() throws {
        var checkpoint = try load("timm")
        let missing = "blocks.3.0.bn2.running_var"          // -> blocks.<k>.depthwise.bn.running_var
        let wrongBN = "blocks.5.1.bn3.weight"              // project BN gamma
        let wrongConv = "blocks.2.1.conv_pw.weight"        // expansion 1x1, same element count, wrong layout
        checkpoint.tensors.removeAll { $0.name == missing }
        for i in checkpoint.tensors.indices {
            let t = checkpoint.tensors[i]
            if t.name == wrongBN { checkpoint.tensors[i] = try reshaped(t, [t.shape[0] - 3]) }
            if t.name == wrongConv { checkpoint.tensors[i] = try reshaped(t, [t.shape[0] / 2, t.shape[1] * 2, 1, 1]) }
        }
        let extra = try XCTUnwrap(checkpoint.tensor("conv_head.weight"))
        checkpoint.tensors.append(SourceTensor(name: "head_extra.weight", raw: extra.raw))

        let mapping = try Converter.candidateMappings(checkpoint, family: .timm)[0]
        XCTAssertThrowsError(try Converter.buildModel(checkpoint, mapping)) { error in
            guard let e = error as? WeightCheckError else { return XCTFail("\(error)") }
            // One missing tensor (Converter.buildModel currently lists it twice: with its source
            // name, and again from the strict load).
            XCTAssertTrue(e.missing.contains { $0.contains(missing) }, "\(e)")
            XCTAssertEqual(Set(e.missing.map { $0.split(separator: " ").first.map(String.init) ?? "" }),
                           ["blocks.8.depthwise.bn.running_var"], "\(e)")
            XCTAssertEqual(e.mismatched.count, 2, "\(e)")
            let text = e.description
            XCTAssertTrue(text.contains(missing), text)
            let bn = e.mismatched.first { $0.name.contains("project.bn.weight") }
            XCTAssertEqual(bn?.expected.first, (bn?.actual.first ?? 0) + 3, "\(e)")
            let pw = e.mismatched.first { $0.name.contains("expand.conv.weight") }
            XCTAssertEqual(pw.map { $0.actual[0] * 2 }, pw?.expected[0], "\(e)")
            XCTAssertEqual(pw.map { $0.actual[1] }, pw.map { $0.expected[1] * 2 }, "\(e)")
            XCTAssertTrue(text.contains("expected"), text)
        }
        let fates = mapping.fates(for: checkpoint)
        XCTAssertTrue(fates.contains { $0.source == "head_extra.weight" && { if case .unused = $0.fate { return true }; return false }($0) })
    }

    /// A checkpoint whose structure cannot be read says which tensor is to blame.
    func testUnderivableStructureNamesTheTensor() throws {
        var checkpoint = try load("lukemelas")
        checkpoint.tensors.removeAll { $0.name == "_blocks.4._depthwise_conv.weight" }
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: .lukemelas)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("_blocks.4._depthwise_conv.weight"), text)
            XCTAssertTrue(text.contains("depthwise"), text)
        }
        // Detection still says what it saw.
        let detection = FamilyRegistry.detect(checkpoint).first
        XCTAssertEqual(detection?.family, .lukemelas)
        XCTAssertTrue(detection?.variant.contains("not understood") ?? false, detection?.variant ?? "")
    }
}

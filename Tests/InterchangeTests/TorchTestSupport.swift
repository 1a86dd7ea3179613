import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Fixtures written by Fixtures/generate_torch_families.py (real torch.save, real PyTorch outputs).
enum TorchFixtures {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = repo.appendingPathComponent("Fixtures/torch")

    /// (fixture folder, family that wrote it)
    static let families: [(folder: String, family: FamilyName)] = [
        ("seed", .seed), ("torchvision", .torchvision), ("timm", .timm), ("timm-tf", .timmTF),
        ("lukemelas", .lukemelas), ("lite", .lite),
    ]

    /// The files every family folder holds, by what they test.
    enum Format: String, CaseIterable {
        case zip = "weights.pth"
        case legacy = "weights_legacy.pth"
        case fp16 = "weights_fp16.pth"
        case training = "train_checkpoint.pth"
        case safetensors = "weights.safetensors"
    }

    static func path(_ folder: String, _ file: String) -> String {
        root.appendingPathComponent(folder).appendingPathComponent(file).path
    }

    static func input(_ tag: String) throws -> Tensor {
        try NPY.readTensor(path: root.appendingPathComponent("input_\(tag).npy").path)
    }

    static func expected(_ folder: String, _ name: String) throws -> Tensor {
        try NPY.readTensor(path: path(folder, name))
    }

    static func read(_ path: String) throws -> SourceCheckpoint {
        try SourceReader.read(path: path)
    }

    /// The candidate mapping of `family`, checking that detection offered exactly what it should:
    /// one candidate, or timm and timm-tf together (names cannot tell them apart).
    static func mapping(_ checkpoint: SourceCheckpoint, _ family: FamilyName,
                        file: StaticString = #filePath, line: UInt = #line) throws -> WeightMapping {
        let candidates = try Converter.candidateMappings(checkpoint, family: nil)
        let offered = Set(candidates.map(\.family))
        if family == .timm || family == .timmTF {
            XCTAssertEqual(offered, ["timm", "timm-tf"], "timm checkpoints must come back as both timm and timm-tf", file: file, line: line)
        } else {
            XCTAssertEqual(offered, [family.rawValue], "detection of \(checkpoint.path)", file: file, line: line)
        }
        guard let m = candidates.first(where: { $0.family == family.rawValue }) else {
            throw XCTSkip("no \(family.rawValue) mapping offered")
        }
        return m
    }

    /// max|a-b| / max(1, max|ref|), the toolkit's measure.
    static func relativeError(_ actual: Tensor, _ reference: Tensor) -> Float {
        guard actual.shape == reference.shape else { return .infinity }
        return Comparison(actual: actual, reference: reference).relativeError
    }

    /// A checkpoint with these names and shapes whose tensors all view one float (stride 0), for
    /// tests that look at names and shapes only (full-size variants without their megabytes).
    static func shapeOnlyCheckpoint(path: String, tensors: [(String, [Int])]) throws -> SourceCheckpoint {
        let storage = ByteStorage([0, 0, 128, 63])  // 1.0f
        let list = try tensors.map { name, shape in
            SourceTensor(name: name, raw: try RawTensor(dtype: .f32, shape: shape, strides: shape.map { _ in 0 }, storage: storage))
        }
        return SourceCheckpoint(path: path, format: .torchZip, tensors: list)
    }

    /// Full-size variants' names and shapes (Fixtures/torch/manifests/<family>.json).
    struct Manifest: Decodable {
        var family: String
        var variant: String
        var tensors: [[Entry]]
        var bn_eps: [Double]
        enum Entry: Decodable {
            case name(String), shape([Int])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .name(s) } else { self = .shape(try c.decode([Int].self)) }
            }
        }
        var namedShapes: [(String, [Int])] {
            tensors.compactMap { e in
                guard e.count == 2, case let .name(n) = e[0], case let .shape(s) = e[1] else { return nil }
                return (n, s)
            }
        }
    }

    static func manifests(_ family: String) throws -> [Manifest] {
        let data = try Data(contentsOf: root.appendingPathComponent("manifests/\(family).json"))
        return try JSONDecoder().decode([Manifest].self, from: data)
    }
}

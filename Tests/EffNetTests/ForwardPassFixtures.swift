import EffNet
import Foundation
import XCTest

/// The files Fixtures/generate_core.py writes (real PyTorch models, .effw written by Python's
/// safetensors, PyTorch's outputs). See that script's docstring for how they are made.
enum ForwardPassFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/core")

    /// Input tags: `input_<tag>.npy` and `<model>.output_<tag>.npy`.
    static let inputTags = ["2x3x64x64", "1x3x57x71"]

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func input(_ tag: String) throws -> Tensor {
        try NPY.readTensor(path: url("input_\(tag).npy").path)
    }

    static func output(_ model: String, _ tag: String) throws -> Tensor {
        try NPY.readTensor(path: url("\(model).output_\(tag).npy").path)
    }

    /// The .effw of `model`: the file itself, or (for `.effw.gz`) a copy inflated into `folder`.
    static func effw(_ model: String, into folder: URL) throws -> URL {
        let plain = url("\(model).effw")
        if FileManager.default.fileExists(atPath: plain.path) { return plain }
        let gz = url("\(model).effw.gz")
        let data = try Gunzip.decompress(Array(Data(contentsOf: gz)), name: gz.path, maxOutput: try effwBytes(model))
        let out = folder.appendingPathComponent("\(model).effw")
        try Data(data).write(to: out)
        return out
    }

    /// The model `name`, loaded once per test run with `EfficientNet(contentsOf:)` (an inflated
    /// .effw.gz is loaded from a temporary file, deleted right after).
    static func model(_ name: String) throws -> EfficientNet {
        try cacheLock.withLock {
            if let m = cache[name] { return m }
            let folder = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: folder) }
            let m = try EfficientNet(contentsOf: effw(name, into: folder))
            cache[name] = m
            return m
        }
    }

    private nonisolated(unsafe) static var cache: [String: EfficientNet] = [:]
    private static let cacheLock = NSLock()

    /// The size of `model`'s .effw as `<model>.info.json` records it (`effwBytes`): the bound
    /// for inflating its .effw.gz.
    static func effwBytes(_ model: String) throws -> Int {
        let info = url("\(model).info.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: info)) as? [String: Any]
        guard let bytes = json?["effwBytes"] as? Int, bytes > 0 else { throw FixtureError("\(info.path): no effwBytes") }
        return bytes
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-forward-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

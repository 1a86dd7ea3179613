import CZlib
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
        let data = try gunzip(Array(Data(contentsOf: gz)), name: gz.path)
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

    /// Inflates a gzip stream with zlib (windowBits 15 + 16 selects the gzip wrapper).
    static func gunzip(_ input: [UInt8], name: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FixtureError("\(name): inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw FixtureError("\(name): gzip data is damaged (zlib status \(status))")
                    }
                    output += outBuf[0 ..< (outBuf.count - Int(stream.avail_out))]
                }
                if status == Z_OK, stream.avail_in == 0, stream.avail_out != 0 {
                    throw FixtureError("\(name): gzip data is truncated")
                }
            } while status != Z_STREAM_END
        }
        return output
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

import Foundation
import XCTest

/// ONNX initializers whose external data would be read from outside the model's folder (`..`,
/// absolute paths, symbolic links to a file or a folder outside), or whose offsets and lengths
/// lie: refused naming the tensor and the location; the outside file is never read.
final class ONNXExternalDataTests: HostileTestCase {
    /// Copies Fixtures/hostile/onnx/<name>/ to scratch/models/<name>/ beside a scratch/models/outside.bin.
    func stage(_ name: String) throws -> String {
        let folder = scratch.url.appendingPathComponent("models/\(name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = HostileFixtures.hostile.appendingPathComponent("onnx/\(name)")
        for f in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try Data(contentsOf: source.appendingPathComponent(f)).write(to: folder.appendingPathComponent(f))
        }
        try Data(repeating: 0x41, count: 16).write(to: scratch.url.appendingPathComponent("models/outside.bin"))
        return folder.appendingPathComponent("model.onnx").path
    }

    func testLocationsLeavingTheFolder() throws {
        for (name, location) in [("escape_dotdot", "../outside.bin"), ("escape_nested_dotdot", "sub/../../outside.bin"),
                                 ("escape_absolute", "/etc/hostname")] {
            try assertRefused(try stage(name), mentions: [location, "'w'"])
        }
    }

    /// link.bin -> ../outside.bin, link.bin -> /etc/hostname, and sub -> .. (location
    /// sub/outside.bin has no `..` in it; only resolving the link shows where it goes).
    func testSymbolicLinksOut() throws {
        let fm = FileManager.default
        for target in ["../outside.bin", "/etc/hostname"] {
            let model = try stage("escape_symlink")
            let link = (model as NSString).deletingLastPathComponent + "/link.bin"
            try? fm.removeItem(atPath: link)
            try fm.createSymbolicLink(atPath: link, withDestinationPath: target)
            try assertRefused(model, mentions: ["link.bin", "'w'"])
        }
        let model = try stage("escape_symlink_dir")
        try fm.createSymbolicLink(atPath: (model as NSString).deletingLastPathComponent + "/sub", withDestinationPath: "..")
        try assertRefused(model, mentions: ["sub/outside.bin", "'w'"])
    }

    /// A link that stays inside the folder is fine for the reader (the tiny graph itself is not
    /// an EfficientNet, so the tools still refuse it, but not for its location).
    func testSymbolicLinkInsideIsNotAnEscape() throws {
        let model = try stage("escape_symlink")
        let dir = (model as NSString).deletingLastPathComponent
        try Data(repeating: 0, count: 16).write(to: URL(fileURLWithPath: dir + "/real.bin"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.bin", withDestinationPath: "real.bin")
        let r = try HostileRunner.run("effnet-inspect", [model])
        XCTAssertFalse(r.firstErrorLine.contains("outside"), r.stderr)
    }

    /// "weights.bin\0../../etc/hostname": a C string ends at the NUL, so a reader that passes it
    /// on reads weights.bin, a different file than the one named (inside the folder: not an
    /// escape, but not the file named either). Schemas/onnx.proto declares the entry's key and
    /// value as `bytes`, so protobuf-c hands over all of it with its length and the reader
    /// refuses it, naming the tensor, the key and the offset of the NUL (shown as \0).
    func testLocationWithNULIsRefused() throws {
        try assertRefused(try stage("escape_nul"),
                          mentions: ["'w'", "weights.bin\\0../../etc/hostname", "'location'", "NUL byte at offset 11"])
    }

    func testLyingOffsetsLengthsAndMissingFiles() throws {
        try assertRefused(try stage("external_missing"), mentions: ["missing.bin", "'w'"])
        try assertRefused(try stage("external_offset_huge"), mentions: ["weights.bin", "'w'"])
        try assertRefused(try stage("external_length_huge"), mentions: ["weights.bin", "'w'"])
        try assertRefused(HostileFixtures.path("onnx/dims_overflow.onnx"), mentions: ["'w'"])
    }

    /// A graph whose convolutions loop back on themselves (found by effnet-fuzz source, mutated
    /// from a real export): the walk used to follow the loop forever, growing without bound.
    func testGraphThatLoopsBackIsRefused() throws {
        try assertRefused(HostileFixtures.path("onnx/fuzz_graph_cycle.onnx"),
                          mentions: ["loops back", "/blocks/blocks.3/features/features.0/Conv"], tools: [.convert])
    }
}

import EffNet
import Foundation
import XCTest

/// Truncated, random and empty files of every format, through the tools: exit 2 with one
/// `error:` line naming the file, never a crash, a hang or a partial DEST.
final class DamagedFileTests: HostileTestCase {
    /// An undamaged file of each format (written here for .effw and .npy).
    func originals() throws -> [(format: String, path: String)] {
        let effw = scratch.path("tiny.effw")
        try TinyModel.writeEffw(to: effw)
        return [
            ("torch zip", HostileFixtures.fixture("torch/seed/weights_fp16.pth")),
            ("torch legacy", HostileFixtures.fixture("torch/seed/weights_legacy.pth")),
            (".effw", effw),
            (".h5 (tf.keras)", HostileFixtures.fixture("keras/tfk_plain_weights.h5")),
            (".h5 (small)", HostileFixtures.path("hdf5/keras_like.h5")),
            (".keras", HostileFixtures.fixture("keras/k3_plain64.keras")),
            (".onnx", HostileFixtures.fixture("onnx/seed_softmax_ts17/model.onnx")),
        ]
    }

    /// Empty; cut to 1, 8, 64 bytes, to half, short by 1 and by 100 bytes; 4 KiB of random
    /// bytes; the first 16 bytes (the format's magic) followed by random bytes.
    static func variants(of original: [UInt8]) -> [(name: String, bytes: [UInt8])] {
        var rng = SplitMix(state: UInt64(original.count))
        let n = original.count
        var out: [(String, [UInt8])] = [("empty", [])]
        for cut in [1, 8, 64, n / 2, n - 1, n - 100] where cut > 0 && cut < n {
            out.append(("first\(cut)", Array(original.prefix(cut))))
        }
        out.append(("random", rng.bytes(4096)))
        out.append(("magic+random", Array(original.prefix(16)) + rng.bytes(min(n, 64 << 10))))
        return out
    }

    func testTruncatedRandomAndEmptyFilesOfEveryFormat() throws {
        for (format, path) in try originals() {
            let original = try readFile(path)
            for (i, (variant, bytes)) in Self.variants(of: original).enumerated() {
                let name = "\(format.filter { $0.isLetter || $0.isNumber })_\(variant).bin"
                let p = try scratch.write(bytes, name)
                // The whole contract (existing DEST, inspect) for a third of the variants,
                // one conversion to an absent DEST for the rest.
                if i % 3 == 0 {
                    try assertRefused(p)
                } else {
                    let dest = scratch.path("o_\(name).effw")
                    let r = try HostileRunner.run("effnet-convert", [p, dest])
                    assertUnusable(r, source: p, mentions: [], what: "effnet-convert \(format) \(variant)")
                    XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
                }
                try FileManager.default.removeItem(atPath: p)
            }
        }
    }

    /// A damaged .npy where the tools take one: --check-input / --check-output of effnet-convert
    /// and --input of effnet-predict. The error names the .npy file.
    func testDamagedNpyArguments() throws {
        let good = scratch.path("x.npy")
        try NPY.write(TinyModel.input([1, 3, 32, 32]), to: good)
        let goodOut = scratch.path("y.npy")
        try NPY.write(Tensor(shape: [1, 5], scalars: [0, 1, 2, 3, 4]), to: goodOut)
        let model = scratch.path("tiny.effw")
        try TinyModel.writeEffw(to: model)
        let source = HostileFixtures.fixture("torch/seed/weights_fp16.pth")
        var variants = Self.variants(of: try readFile(good))
        // Header lies: a huge header length, a shape far larger than the data, a bad dtype,
        // a negative dimension, Fortran order, a header that is not a dict.
        func npy(_ header: String, data: [UInt8] = [UInt8](repeating: 0, count: 16)) -> [UInt8] {
            var h = Array(header.utf8)
            while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
            h.append(0x0a)
            return [0x93] + Array("NUMPY".utf8) + [1, 0] + ContainerBuilder.le16(h.count) + h + data
        }
        variants += [
            ("header_len_huge", [0x93] + Array("NUMPY".utf8) + [2, 0, 0xff, 0xff, 0xff, 0x7f] + Array("{'descr'".utf8)),
            ("shape_huge", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }")),
            ("shape_beyond_data", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }")),
            ("dtype_object", npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }")),
            ("negative_dim", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }")),
            ("not_a_dict", npy("__import__('os').system('touch /tmp/effnetkit_hostile_pwned_npy')")),
        ]
        for (variant, bytes) in variants {
            let bad = try scratch.write(bytes, "bad_\(variant).npy")
            let dest = scratch.path("o.effw")
            let c = try HostileRunner.run("effnet-convert", [source, dest, "--check-input", bad, "--check-output", goodOut])
            assertUnusable(c, source: bad, mentions: [], what: "effnet-convert --check-input \(variant)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
            let c2 = try HostileRunner.run("effnet-convert", [source, dest, "--check-input", good, "--check-output", bad])
            assertUnusable(c2, source: bad, mentions: [], what: "effnet-convert --check-output \(variant)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
            let out = scratch.path("pred.npy")
            let p = try HostileRunner.run("effnet-predict", [model, "--input", bad, "--output", out])
            assertUnusable(p, source: bad, mentions: [], what: "effnet-predict --input \(variant)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "effnet-predict left its output behind")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/effnetkit_hostile_pwned_npy"))
    }
}

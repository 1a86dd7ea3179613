import EffNet
import Foundation
import EffNetTorch
import XCTest
import EffNetZip

/// Archives written by real torch.save, read and compared with torch.load's values.
final class TorchCheckpointTests: XCTestCase {
    func load(_ name: String, wrapperKey: String? = nil) throws -> TorchCheckpoint {
        try TorchCheckpoint(path: Fixtures.path(name), options: .init(wrapperKey: wrapperKey))
    }

    func testBasicStateDictInEveryContainer() throws {
        let cases: [(String, TorchCheckpoint.Container, Int)] = [
            ("basic_zip.pt", .zip, 2), ("basic_legacy.pt", .legacy, 2), ("basic_proto4.pt", .zip, 4),
            ("basic_proto5.pt", .zip, 5), ("basic_legacy_proto4.pt", .legacy, 4), ("basic_deflated.pt", .zip, 2),
            ("basic_bigendian.pt", .zip, 2), ("basic_nocrc.pt", .zip, 2),
        ]
        for (name, container, proto) in cases {
            let ckpt = try load(name)
            XCTAssertEqual(ckpt.container, container, name)
            XCTAssertEqual(ckpt.pickleProtocol, proto, name)
            XCTAssertEqual(ckpt.notes["pickle_protocol"], String(proto), name)
            XCTAssertEqual(ckpt.notes["state_dict_metadata"], "present", name)
            Fixtures.check(ckpt, against: try Fixtures.expected(name))
        }
    }

    /// torch.save under `set_crc32_options(False)` writes CRC 0 for every record; torch.load reads
    /// it, so must we, and say the data went unchecked. A real CRC that is wrong still fails.
    func testArchiveWithoutCRCsIsReadAndSaysSo() throws {
        let ckpt = try load("basic_nocrc.pt")
        XCTAssertNotNil(ckpt.notes["crc32"])
        XCTAssertFalse(try ZipArchive(path: Fixtures.path("basic_nocrc.pt")).recordsCRC32)
        XCTAssertNil(try load("basic_zip.pt").notes["crc32"])
        XCTAssertTrue(try ZipArchive(path: Fixtures.path("basic_zip.pt")).recordsCRC32)
    }

    func testHalfPrecisionStaysHalf() throws {
        let ckpt = try load("basic_zip.pt")
        let f16 = try XCTUnwrap(ckpt.tensors.first { $0.name == "extra.f16" })
        let bf16 = try XCTUnwrap(ckpt.tensors.first { $0.name == "extra.bf16" })
        XCTAssertEqual(f16.raw.dtype, .f16)
        XCTAssertEqual(bf16.raw.dtype, .bf16)
        XCTAssertEqual(f16.raw.storage.bytes.count, 2 * 6)
    }

    func testBigEndianArchiveIsMarked() throws {
        let ckpt = try load("basic_bigendian.pt")
        XCTAssertEqual(ckpt.notes["byteorder"], "big")
        XCTAssertTrue(ckpt.tensors.allSatisfy { $0.raw.bigEndian })
        XCTAssertFalse(try load("basic_zip.pt").tensors.contains { $0.raw.bigEndian })
    }

    /// Views share one storage: a transposed tensor, a row slice and a column keep their strides
    /// and offsets, and (for STORED zips) point into the mapped file without copies.
    func testStridedViewsShareTheirStorage() throws {
        for name in ["basic_zip.pt", "basic_legacy.pt"] {
            let ckpt = try load(name)
            func t(_ n: String) throws -> RawTensor { try XCTUnwrap(ckpt.tensors.first { $0.name == n }).raw }
            let base = try t("extra.base"), transposed = try t("extra.transposed")
            let rows = try t("extra.rows"), column = try t("extra.column")
            XCTAssertEqual(transposed.strides, [1, 4])
            XCTAssertFalse(transposed.isContiguous)
            XCTAssertEqual(rows.offset, 4)
            XCTAssertEqual(column.offset, 2)
            XCTAssertEqual(column.strides, [4])
            for v in [transposed, rows, column] {
                XCTAssertEqual(v.storage.bytes.baseAddress, base.storage.bytes.baseAddress, name)
            }
        }
        let file = try MappedFile(path: Fixtures.path("basic_zip.pt"))
        let ckpt = try TorchCheckpoint(file: file)
        let lo = try XCTUnwrap(file.bytes.baseAddress), hi = lo + file.count
        for t in ckpt.tensors where t.raw.count > 0 {
            let p = try XCTUnwrap(t.raw.storage.bytes.baseAddress)
            XCTAssertTrue(p >= lo && p < hi, "\(t.name) was copied")
        }
    }

    func testTrainingCheckpointSkipsOptimizerAndArgs() throws {
        for name in ["training_zip.pt", "training_legacy.pt"] {
            let ckpt = try load(name)
            Fixtures.check(ckpt, against: try Fixtures.expected(name))
            XCTAssertEqual(ckpt.notes["wrapper"], "state_dict")
            XCTAssertEqual(ckpt.notes["prefix"], "module.")
            XCTAssertTrue(ckpt.opaqueClasses.contains("argparse.Namespace"), "\(ckpt.opaqueClasses)")
            XCTAssertTrue(ckpt.notes["wrapper_siblings"]?.contains("optimizer") ?? false)
            let root = try XCTUnwrap(ckpt.graph.dict(ckpt.root))
            XCTAssertEqual(root.value(forKey: "epoch"), .int(3))
            XCTAssertEqual(root.value(forKey: "arch"), .string("tiny"))
            guard case let .object(args)? = ckpt.graph.node(try XCTUnwrap(root.value(forKey: "args"))) else {
                return XCTFail("args is not an opaque object")
            }
            XCTAssertEqual(args.stateKeys.sorted(), ["arch", "data", "epochs", "lr"])
        }
    }

    func testWrapperPreferenceAndOverride() throws {
        Fixtures.check(try load("ema_both.pt"), against: try Fixtures.expected("ema_both.pt"))
        let ema = try load("ema_both.pt", wrapperKey: "state_dict_ema")
        Fixtures.check(ema, against: try Fixtures.expected("ema_both.pt#state_dict_ema"))
        XCTAssertEqual(ema.siblingKeys, ["state_dict", "epoch"])
        Fixtures.check(try load("ema_only.pt"), against: try Fixtures.expected("ema_only.pt"))
        Fixtures.check(try load("model_wrapper.pt"), against: try Fixtures.expected("model_wrapper.pt"))
        XCTAssertThrowsError(try load("ema_both.pt", wrapperKey: "nope")) { error in
            guard case let .noStateDict(_, detail)? = error as? TorchError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("'nope'") && detail.contains("state_dict_ema"), detail)
        }
    }

    func testCompilePrefixes() throws {
        Fixtures.check(try load("compiled_zip.pt"), against: try Fixtures.expected("compiled_zip.pt"))
        let both = try load("dp_compiled_legacy.pt")
        Fixtures.check(both, against: try Fixtures.expected("dp_compiled_legacy.pt"))
        XCTAssertEqual(both.notes["prefix"], "module._orig_mod.")
        XCTAssertEqual(both.tensors.first?.sourceName, "module._orig_mod.0.weight")
    }

    /// nn.Parameter (_rebuild_parameter), a tensor with attributes (_rebuild_from_type_v2), bool
    /// and float64 tensors; a uint16 tensor (_rebuild_tensor_v3) outside the state dict is ignored.
    func testEveryRebuildPath() throws {
        for name in ["rebuild_variants.pt", "rebuild_variants_legacy.pt"] {
            let ckpt = try load(name)
            Fixtures.check(ckpt, against: try Fixtures.expected(name))
            XCTAssertEqual(ckpt.tensors.map(\.isParameter), [true, false, false, false], name)
            XCTAssertEqual(ckpt.tensors.first?.requiresGrad, true, name)
        }
    }

    func testUnsupportedDTypeInTheStateDictIsNamed() {
        XCTAssertThrowsError(try load("unsupported_dtype.pt")) { error in
            guard case let .tensor(_, name, detail)? = error as? TorchError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "u16")
            XCTAssertTrue(detail.contains("uint16"), detail)
        }
    }

    func testPickledModulesAreRefused() throws {
        for (name, key) in [("pickled_module.pt", "(top level)"), ("pickled_module_wrapped.pt", "model"),
                            ("pickled_module_legacy.pt", "(top level)")] {
            XCTAssertThrowsError(try load(name), name) { error in
                guard case let .pickledModule(path, k, className)? = error as? TorchError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(path, Fixtures.path(name))
                XCTAssertEqual(k, key, name)
                XCTAssertEqual(className, "torch.nn.modules.linear.Linear", name)
                XCTAssertTrue("\(error)".contains("save model.state_dict()"))
            }
        }
    }

    func testViewExceedingItsStorageIsRefused() {
        XCTAssertThrowsError(try load("view_exceeds_storage.pt")) { error in
            guard case let .tensor(_, name, detail)? = error as? TorchError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "w")
            XCTAssertTrue(detail.contains("exceeds"), detail)
        }
    }

    func testSummaryListsWrapperAndTensors() throws {
        let s = try load("training_zip.pt").summary
        XCTAssertTrue(s.contains("PyTorch zip archive, pickle protocol 2"), s)
        XCTAssertTrue(s.contains("state dict: 'state_dict'"), s)
        XCTAssertTrue(s.contains("prefix stripped: module."), s)
        XCTAssertNotNil(s.range(of: #"\n  0\.weight +float32  \[4, 3, 3, 3\]\n"#, options: .regularExpression), s)
        XCTAssertTrue(s.contains("skipped 1.num_batches_tracked"), s)
    }

    func testLegacyDetection() throws {
        for (name, legacy) in [("basic_legacy.pt", true), ("basic_legacy_proto4.pt", true), ("basic_zip.pt", false)] {
            let file = try MappedFile(path: Fixtures.path(name))
            XCTAssertEqual(TorchCheckpoint.isLegacyArchive(file.bytes), legacy, name)
        }
    }
}

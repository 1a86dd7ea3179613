import EffNet
import EffNetTorch
import EffNetZip
import Foundation
import XCTest

/// The PyTorch archive writer: read back by the project's own readers, compared byte for byte
/// with archives real torch.save wrote (Fixtures/export/generate_torch_archive.py), and refusing
/// what it cannot write.
///
/// With `EFFNET_EXPORT_ARCHIVE_DIR` set, `testWritesArchiveForPythonChecks` leaves
/// `swift_written.pth` and the tensors it holds (`swift_written.npz`) in that folder, for
/// `scripts/check-torch-pickle.py` (CI, no torch) and `Fixtures/export/check_torch_archive.py`
/// (real torch.load).
final class TorchArchiveWriterTests: XCTestCase {
    typealias T = TorchArchiveWriter.Tensor

    static let exportFixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/export")

    // MARK: helpers

    static func bytes<V>(_ values: [V]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    /// A state dict with every kind of tensor the converter writes, and a few it might.
    static func sample() -> [T] {
        var g = SystemRandomNumberGenerator()
        func floats(_ n: Int) -> [Float] { (0 ..< n).map { _ in Float.random(in: -2 ... 2, using: &g) } }
        return [
            T(name: "stem.weight", dtype: .f32, shape: [4, 3, 3, 3], bytes: bytes(floats(108))),
            T(name: "stem.bn.weight", dtype: .f32, shape: [4], bytes: bytes(floats(4))),
            T(name: "stem.bn.running_var", dtype: .f32, shape: [4], bytes: bytes(floats(4).map { abs($0) + 0.5 })),
            T(name: "stem.bn.num_batches_tracked", dtype: .i64, shape: [], bytes: bytes([Int64(4242)])),
            T(name: "head.weight", dtype: .f16, shape: [2, 4], bytes: bytes(floats(8).map { Float16($0).bitPattern })),
            T(name: "head.bias.bf16", dtype: .bf16, shape: [2], bytes: [0x80, 0x3f, 0x00, 0xc0]),
            T(name: "mask", dtype: .bool, shape: [3], bytes: [1, 0, 1]),
            T(name: "temperature", dtype: .f32, shape: [], bytes: bytes([Float(0.25)])),
            T(name: "counts", dtype: .i64, shape: [3], bytes: bytes([Int64(1) << 40, -7, 70000])),
            T(name: "empty", dtype: .f32, shape: [0, 3], bytes: []),
            T(name: "blöck.ünïcode", dtype: .f32, shape: [1], bytes: bytes([Float(1)])),
        ]
    }

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torchw-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    /// Writes through `AtomicFileWriter`, the way the converter will.
    func writeFile(_ tensors: [T], archiveName: String = "archive", to path: String) throws {
        try AtomicFileWriter(destination: path, overwrite: true).write { sink in
            try TorchArchiveWriter.write(tensors, archiveName: archiveName, to: &sink)
        }
    }

    /// The state dict as the project's unpickler decodes data.pkl: per key, the tensor record.
    struct Decoded: Equatable {
        var key: String
        var storageType: String
        var storageKey: String
        var location: String
        var numel: Int
        var offset: Int
        var shape: [Int]
        var strides: [Int]
        var requiresGrad: Bool
    }

    func decode(_ path: String) throws -> (ordered: Bool, items: [Decoded]) {
        let ckpt = try TorchCheckpoint(path: path)
        guard case let .dict(d)? = ckpt.graph.node(ckpt.root) else {
            XCTFail("\(path): data.pkl is not a dict")
            return (false, [])
        }
        var items: [Decoded] = []
        for (k, v) in zip(d.keys, d.values) {
            guard let key = k.string, case let .tensor(r)? = ckpt.graph.node(v) else {
                XCTFail("\(path): \(k) is not a string key with a tensor")
                continue
            }
            items.append(Decoded(key: key, storageType: r.storage.typeName, storageKey: r.storage.key,
                                 location: r.storage.location, numel: r.storage.numel, offset: r.offset,
                                 shape: r.shape, strides: r.strides, requiresGrad: r.requiresGrad))
        }
        return (d.isOrdered, items)
    }

    /// Tensors from an .npz numpy wrote (entries `<name>.npy`, in order): f32, f16, i64 only.
    func readNPZ(_ path: String, only names: Set<String>? = nil) throws -> [T] {
        let zip = try ZipArchive(path: path)
        var out: [T] = []
        for e in zip.entries where names?.contains(String(e.name.dropLast(4))) ?? true {
            let tmp = temporaryPath("a.npy")
            let data = try zip.data(for: e)
            try Data(data.bytes).write(to: URL(fileURLWithPath: tmp))
            let a = try NPY.read(path: tmp)
            let bytes = try XCTUnwrap(a.raw.contiguousBytes)
            out.append(T(name: String(e.name.dropLast(4)), dtype: a.dtype, shape: a.shape, bytes: Array(bytes)))
        }
        return out
    }

    // MARK: round trip through the project's readers

    func testRoundTripThroughTorchCheckpoint() throws {
        let tensors = Self.sample()
        let path = temporaryPath("model.pth")
        try writeFile(tensors, to: path)

        let ckpt = try TorchCheckpoint(path: path)
        XCTAssertEqual(ckpt.container, .zip)
        XCTAssertEqual(ckpt.pickleProtocol, 2)
        XCTAssertEqual(ckpt.opaqueClasses, [], "only allowlisted globals")
        XCTAssertNil(ckpt.notes["crc32"], "CRC-32s recorded")
        // The reader hands out every tensor but the BN step counter, which it skips by name.
        let handed = tensors.filter { !$0.name.hasSuffix("num_batches_tracked") }
        XCTAssertEqual(ckpt.tensors.map(\.name), handed.map(\.name))
        XCTAssertEqual(ckpt.skipped.map(\.name), ["stem.bn.num_batches_tracked"])
        for (r, t) in zip(ckpt.tensors, handed) {
            XCTAssertEqual(r.raw.dtype, t.dtype, t.name)
            XCTAssertEqual(r.raw.shape, t.shape, t.name)
            XCTAssertFalse(r.requiresGrad, t.name)
            XCTAssertEqual(r.raw.contiguousBytes.map(Array.init), t.bytes, t.name)
        }

        // The whole pickle, num_batches_tracked included: one storage per tensor, contiguous.
        let decoded = try decode(path)
        XCTAssertTrue(decoded.ordered, "an OrderedDict")
        XCTAssertEqual(decoded.items.map(\.key), tensors.map(\.name))
        let zipFile = try ZipArchive(path: path)
        for (i, (d, t)) in zip(decoded.items, tensors).enumerated() {
            XCTAssertEqual(d.storageType, t.dtype.torchStorageClass, t.name)
            XCTAssertEqual(d.storageKey, String(i), t.name)
            XCTAssertEqual(d.location, "cpu")
            XCTAssertEqual(d.numel, t.shape.reduce(1, *), t.name)
            XCTAssertEqual(d.offset, 0)
            XCTAssertEqual(d.shape, t.shape, t.name)
            XCTAssertEqual(d.strides, RawTensor.contiguousStrides(t.shape), t.name)
            XCTAssertFalse(d.requiresGrad)
            let entry = try XCTUnwrap(zipFile.entry(named: "archive/data/\(i)"))
            XCTAssertEqual(Array(try zipFile.data(for: entry).bytes), t.bytes, t.name)
        }
        let scalar = decoded.items[3]
        XCTAssertEqual(scalar.storageType, "LongStorage")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.strides, [])
    }

    /// Every entry's data starts on a 64-byte boundary; every CRC-32 is right (the reader checks
    /// all of them); the entries are the ones torch writes, in torch's order.
    func testEntriesAlignedCheckedAndInTorchsOrder() throws {
        let tensors = Self.sample()
        let path = temporaryPath("model.pth")
        try writeFile(tensors, archiveName: "model", to: path)
        let zip = try ZipArchive(path: path)
        XCTAssertTrue(zip.recordsCRC32)
        XCTAssertTrue(zip.isZip64, "torch always ends with ZIP64 records")
        try zip.verifyAll()
        try zip.verifyStoredCRCs(zip.entries)
        for e in zip.entries {
            XCTAssertEqual(e.dataOffset % 64, 0, e.name)
            XCTAssertEqual(e.method, .stored, e.name)
            XCTAssertEqual(e.crc32, CRC32.checksum(Array(try zip.data(for: e, verifyCRC: false).bytes)), e.name)
        }
        let expected = ["data.pkl", ".format_version", ".storage_alignment", "byteorder"]
            + tensors.indices.map { "data/\($0)" } + ["version", ".data/serialization_id"]
        XCTAssertEqual(zip.entries.map(\.name), expected.map { "model/" + $0 })
        func text(_ name: String) throws -> String {
            String(decoding: try zip.data(for: try XCTUnwrap(zip.entry(named: "model/" + name))).bytes, as: UTF8.self)
        }
        XCTAssertEqual(try text(".format_version"), "1")
        XCTAssertEqual(try text(".storage_alignment"), "64")
        XCTAssertEqual(try text("byteorder"), "little")
        XCTAssertEqual(try text("version"), "3\n")
        XCTAssertEqual(try text(".data/serialization_id").count, 40)

        // The CRC-32s are what the reader checks: one flipped data byte is caught.
        var damaged = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let first = try XCTUnwrap(zip.entry(named: "model/data/0"))
        damaged[first.dataOffset + 5] ^= 0x10
        let damagedPath = temporaryPath("damaged.pth")
        try Data(damaged).write(to: URL(fileURLWithPath: damagedPath))
        XCTAssertThrowsError(try ZipArchive(path: damagedPath).verifyAll()) {
            guard case .crcMismatch(_, entry: "model/data/0", _, _)? = $0 as? ZipError else { return XCTFail("\($0)") }
        }
    }

    /// The streamed file and the in-memory archive are the same bytes.
    func testFileAndBytesAgree() throws {
        let tensors = Self.sample()
        let path = temporaryPath("model.pth")
        try writeFile(tensors, to: path)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), try TorchArchiveWriter.archiveBytes(tensors))
    }

    func testEmptyStateDict() throws {
        let path = temporaryPath("empty.pth")
        try writeFile([], to: path)
        // TorchCheckpoint finds no state dict in an empty dict (it says so); the unpickler reads
        // an empty OrderedDict.
        XCTAssertThrowsError(try TorchCheckpoint(path: path))
        let zip = try ZipArchive(path: path)
        let storage = try zip.data(for: try XCTUnwrap(zip.entry(named: "archive/data.pkl")))
        let graph = PickleGraph()
        var unpickler = Unpickler(bytes: storage.bytes, path: path, graph: graph)
        guard case let .dict(d)? = graph.node(try unpickler.load()) else { return XCTFail("not a dict") }
        XCTAssertTrue(d.isOrdered)
        XCTAssertEqual(d.count, 0)
        try zip.verifyAll()
        XCTAssertEqual(zip.entries.map(\.name), ["data.pkl", ".format_version", ".storage_alignment", "byteorder",
                                                  "version", ".data/serialization_id"].map { "archive/" + $0 })
        // torch.save(OrderedDict()) pickles exactly this.
        let pkl = Array(try zip.data(for: try XCTUnwrap(zip.entry(named: "archive/data.pkl"))).bytes)
        XCTAssertEqual(pkl, [0x80, 2] + Array("ccollections\nOrderedDict\nq\u{0})Rq\u{1}.".utf8))
    }

    func testEveryDTypeHasTheStorageClassTheReaderMapsBack() throws {
        for dtype in DType.allCases {
            let t = T(name: "x", dtype: dtype, shape: [2], bytes: [UInt8](repeating: 0, count: 2 * dtype.size))
            let path = temporaryPath("x.pth")
            try writeFile([t], to: path)
            let ckpt = try TorchCheckpoint(path: path)
            XCTAssertEqual(ckpt.tensors.first?.raw.dtype, dtype, dtype.rawValue)
        }
    }

    // MARK: torch's own archives

    /// Re-writing torch's tensors gives torch's archive: every byte equal but the first 20
    /// digits of the serialization id (see TorchArchiveWriter+SerializationID.swift) and the
    /// CRC-32 of that entry, in its data descriptor and its central header.
    func checkMatchesTorch(_ tensors: [T], torchFile: String, archiveName: String) throws {
        let torchPath = Self.exportFixtures.appendingPathComponent(torchFile).path
        let theirs = Array(try Data(contentsOf: URL(fileURLWithPath: torchPath)))
        let ours = try TorchArchiveWriter.archiveBytes(tensors, archiveName: archiveName)
        let ourPath = temporaryPath(torchFile)
        try Data(ours).write(to: URL(fileURLWithPath: ourPath))

        let a = try ZipArchive(path: ourPath), b = try ZipArchive(path: torchPath)
        XCTAssertEqual(a.entries.map(\.name), b.entries.map(\.name))
        XCTAssertEqual(a.entries.map(\.dataOffset), b.entries.map(\.dataOffset))
        let pickle = "\(archiveName)/data.pkl"
        let ourPickle = Array(try a.data(for: try XCTUnwrap(a.entry(named: pickle))).bytes)
        let theirPickle = Array(try b.data(for: try XCTUnwrap(b.entry(named: pickle))).bytes)
        XCTAssertEqual(ourPickle, theirPickle, "data.pkl differs from torch's")
        XCTAssertEqual(try decode(ourPath).items, try decode(torchPath).items)

        let id = try XCTUnwrap(b.entry(named: "\(archiveName)/.data/serialization_id"))
        let idData = try XCTUnwrap(a.entry(named: "\(archiveName)/.data/serialization_id"))
        XCTAssertEqual(String(decoding: try a.data(for: idData).bytes.suffix(20), as: UTF8.self),
                       String(decoding: try b.data(for: id).bytes.suffix(20), as: UTF8.self),
                       "combined CRC digits of the serialization id")
        let centralCRC = try XCTUnwrap(Self.centralHeaderOffset(of: id.name, in: theirs)) + 16
        var allowed = Set(id.dataOffset ..< id.dataOffset + 20)
        allowed.formUnion(id.dataRange.upperBound + 4 ..< id.dataRange.upperBound + 8)
        allowed.formUnion(centralCRC ..< centralCRC + 4)
        XCTAssertEqual(ours.count, theirs.count)
        let differing = (0 ..< min(ours.count, theirs.count)).filter { ours[$0] != theirs[$0] && !allowed.contains($0) }
        XCTAssertEqual(Array(differing.prefix(10)), [Int](), "bytes differing from torch's file at these offsets")
    }

    /// Offset of the central header naming `name` (test helper: a byte search).
    static func centralHeaderOffset(of name: String, in bytes: [UInt8]) -> Int? {
        let needle: [UInt8] = [0x50, 0x4b, 0x01, 0x02]
        let nameBytes = Array(name.utf8)
        var i = 0
        while i + 46 + nameBytes.count <= bytes.count {
            if Array(bytes[i ..< i + 4]) == needle, Array(bytes[i + 46 ..< i + 46 + nameBytes.count]) == nameBytes { return i }
            i += 1
        }
        return nil
    }

    func testRewritingTorchsTensorsGivesTorchsArchive() throws {
        let tensors = try readNPZ(Self.exportFixtures.appendingPathComponent("torch_saved.npz").path)
        XCTAssertEqual(tensors.count, 11)
        XCTAssertEqual(tensors.first { $0.name == "stem.bn.num_batches_tracked" }?.shape, [])
        XCTAssertEqual(tensors.first { $0.name == "head.weight" }?.dtype, .f16)
        try checkMatchesTorch(tensors, torchFile: "torch_saved.pth", archiveName: "torch_saved")
    }

    /// 1001 entries: pickle's SETITEMS batches of 1000 and memo slots past 255 (LONG_BINPUT /
    /// LONG_BINGET) as torch's pickler writes them.
    func testManyTensorsMatchTorch() throws {
        let tensors = (0 ..< 1001).map { i -> T in
            if i % 7 == 0 {
                return T(name: "layer\(i).num_batches_tracked", dtype: .i64, shape: [], bytes: Self.bytes([Int64(i)]))
            }
            let values: [Float] = [Float(i), Float(i) + 0.5]
            return T(name: "layer\(i).weight", dtype: .f32, shape: [2], bytes: Self.bytes(values))
        }
        try checkMatchesTorch(tensors, torchFile: "torch_saved_many.pth", archiveName: "torch_saved_many")
    }

    // MARK: refusals

    func testRefusesWhatItCannotWrite() {
        let ok = T(name: "a", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])
        func refused(_ tensors: [T], archiveName: String = "archive") -> TorchArchiveWriteError? {
            do {
                _ = try TorchArchiveWriter.archiveBytes(tensors, archiveName: archiveName)
                return nil
            } catch let e as TorchArchiveWriteError {
                XCTAssertFalse(e.description.isEmpty)
                return e
            } catch {
                XCTFail("unexpected \(error)")
                return nil
            }
        }
        XCTAssertEqual(refused([ok, T(name: "", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])]), .emptyName(index: 1))
        XCTAssertEqual(refused([ok, ok]), .duplicateName(name: "a", first: 0, again: 1))
        XCTAssertEqual(refused([T(name: "a", dtype: .f32, shape: [2], bytes: [0, 0, 0, 0])]),
                       .byteCountMismatch(name: "a", dtype: .f32, shape: [2], expected: 8, actual: 4))
        XCTAssertEqual(refused([T(name: "a", dtype: .f16, shape: [], bytes: [])]),
                       .byteCountMismatch(name: "a", dtype: .f16, shape: [], expected: 2, actual: 0))
        XCTAssertEqual(refused([T(name: "a", dtype: .f32, shape: [-1], bytes: [])]),
                       .invalidShape(name: "a", shape: [-1], detail: "negative dimension"))
        XCTAssertEqual(refused([T(name: "a", dtype: .f32, shape: [0, Int.max, 4], bytes: [])]),
                       .invalidShape(name: "a", shape: [0, Int.max, 4], detail: "element count overflows"))
        if case .invalidShape? = refused([T(name: "a", dtype: .f32, shape: Array(repeating: 1, count: TorchArchiveWriter.maxRank + 1), bytes: [0, 0, 0, 0])]) {} else {
            XCTFail("\(TorchArchiveWriter.maxRank + 1) dimensions accepted")
        }
        let long = String(repeating: "x", count: TorchArchiveWriter.maxNameBytes + 1)
        if case .nameTooLong(index: 0, _, bytes: TorchArchiveWriter.maxNameBytes + 1, _)? = refused([T(name: long, dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])]) {} else {
            XCTFail("long name accepted")
        }
        for bad in ["", "a/b", "a\u{0}", "..", ".", "a\\b", String(repeating: "n", count: TorchArchiveWriter.maxArchiveNameBytes + 1)] {
            if case .invalidArchiveName? = refused([ok], archiveName: bad) {} else { XCTFail("archive name '\(bad)' accepted") }
        }
        let many = (0 ... TorchArchiveWriter.maxTensors).map { T(name: "t\($0)", dtype: .u8, shape: [0], bytes: []) }
        XCTAssertEqual(refused(many), .tooManyTensors(count: TorchArchiveWriter.maxTensors + 1, limit: TorchArchiveWriter.maxTensors))
    }

    /// Nothing reaches the file when the state dict is refused: the destination never appears.
    func testRefusalLeavesNoFile() {
        let path = temporaryPath("refused.pth")
        XCTAssertThrowsError(try writeFile([T(name: "", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])], to: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testZipWriterRefusesWhatWouldBreakTheArchive() throws {
        var w = ZipWriter()
        var out: [UInt8] = []
        let emit: (UnsafeRawBufferPointer) throws -> Void = { out.append(contentsOf: $0) }
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { _ = try w.add(name: "a", data: $0, emit: emit) }
        let emitted = out.count
        XCTAssertThrowsError(try [UInt8]().withUnsafeBytes { _ = try w.add(name: "a", data: $0, emit: emit) }) {
            XCTAssertEqual($0 as? ZipWriteError, .duplicateEntry(entry: "a"))
        }
        XCTAssertThrowsError(try [UInt8]().withUnsafeBytes { _ = try w.add(name: "", data: $0, emit: emit) })
        // A 4 GiB entry is refused from its declared size, before a byte of it is read.
        var one: UInt8 = 0
        try withUnsafeMutableBytes(of: &one) { p in
            let huge = UnsafeRawBufferPointer(start: p.baseAddress, count: Int(UInt32.max))
            XCTAssertThrowsError(try w.add(name: "big", data: huge, emit: emit)) {
                guard case .needsZip64(entry: "big", _)? = $0 as? ZipWriteError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertEqual(out.count, emitted, "refused entries emit nothing")
        try w.finish(emit: emit)
        XCTAssertThrowsError(try w.finish(emit: emit)) { XCTAssertEqual($0 as? ZipWriteError, .finished) }
        let path = temporaryPath("w.zip")
        try Data(out).write(to: URL(fileURLWithPath: path))
        let zip = try ZipArchive(path: path)
        XCTAssertEqual(zip.entries.map(\.name), ["a"])
        try zip.verifyAll()
    }

    // MARK: for the Python checks

    /// Leaves `swift_written.pth` and `swift_written.npz` (the expected tensors, written by
    /// `ZipWriter` + .npy headers: numpy reads it) in `$EFFNET_EXPORT_ARCHIVE_DIR`; without the
    /// variable, checks the .npz writing in a temporary folder.
    func testWritesArchiveForPythonChecks() throws {
        let env = ProcessInfo.processInfo.environment["EFFNET_EXPORT_ARCHIVE_DIR"]
        let dir = env ?? URL(fileURLWithPath: temporaryPath("x")).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // numpy holds no bfloat16: the Python checks get every other kind.
        let tensors = Self.sample().filter { $0.dtype != .bf16 }
        try writeFile(tensors, archiveName: "swift_written", to: dir + "/swift_written.pth")
        var npz: [UInt8] = []
        var zip = ZipWriter()
        for t in tensors {
            let file = Self.npyHeader(t) + t.bytes
            _ = try file.withUnsafeBytes { try zip.add(name: t.name + ".npy", data: $0) { npz.append(contentsOf: $0) } }
        }
        try zip.finish { npz.append(contentsOf: $0) }
        try Data(npz).write(to: URL(fileURLWithPath: dir + "/swift_written.npz"))
        // The .npz reads back as what went in (through the reader and NPY).
        let readable = tensors.filter { $0.dtype != .bool }
        XCTAssertEqual(try readNPZ(dir + "/swift_written.npz", only: Set(readable.map(\.name))), readable)
    }

    /// An .npy version 1 header for a C-order little-endian array.
    static func npyHeader(_ t: T) -> [UInt8] {
        let descr = [DType.f32: "<f4", .f16: "<f2", .i64: "<i8", .bool: "|b1"][t.dtype] ?? "|u1"
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
        header += [UInt8](repeating: 0x20, count: (64 - (10 + header.count + 1) % 64) % 64) + [0x0a]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xff), UInt8(header.count >> 8)] + header
    }
}

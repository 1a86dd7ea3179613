import EffNet
import Foundation
import EffNetInterchange
import EffNetKeras
import EffNetONNX
import EffNetTF
import EffNetTorch
import EffNetZip

/// One fuzz target: a parser fed arbitrary bytes. Errors are the expected outcome; the only
/// findings are traps, sanitizer reports, hangs (-timeout) and memory blow-ups (-rss_limit_mb).
/// Each body also formats whatever it gets (descriptions, summaries) and touches every tensor's
/// bytes, since a view that passed validation but reads outside its storage only shows up when
/// read.
struct FuzzTarget: Sendable {
    let name: String
    /// Fixture folders and file suffixes the seed corpus is drawn from (scripts/fuzz.sh).
    let seeds: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void
    /// Replay mode only: read a file by path and print the outcome (exit status 0 or 2).
    var replay: (@Sendable (String) -> Int32)? = nil

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "zip", seeds: "zip archives: *.pt *.pth *.zip *.keras", run: zip),
        FuzzTarget(name: "unpickler", seeds: "the data.pkl of each torch zip, legacy archives", run: unpickler),
        FuzzTarget(name: "legacy", seeds: "legacy torch.save files", run: torch),
        FuzzTarget(name: "torch", seeds: "torch zip archives", run: torch),
        FuzzTarget(name: "effw", seeds: "*.effw, *.safetensors", run: effw),
        FuzzTarget(name: "npy", seeds: "*.npy", run: npy),
        FuzzTarget(name: "onnx", seeds: "*.onnx", run: onnx),
        FuzzTarget(name: "hdf5", seeds: "*.h5 and the .weights.h5 inside *.keras", run: hdf5),
        FuzzTarget(name: "keras", seeds: "Keras *.h5 and the .weights.h5 inside *.keras", run: keras),
        FuzzTarget(name: "tfbundle", seeds: "TensorFlow checkpoint *.index files", run: tfBundle),
        FuzzTarget(name: "source", seeds: "every fixture format", run: source),
        FuzzTarget(name: "contained", seeds: "*.h5, *.keras and the hdf5/keras findings", run: contained,
                   replay: containedReplay),
    ] + writers

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: targets

    static func zip(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.zip")
        guard let archive = report(try ZipArchive(path: path)) else { return }
        for e in archive.entries where !e.isDirectory {
            if let s = report(try archive.data(for: e, verifyCRC: true)) { touch(s.bytes) }
        }
        _ = archive.comment.count
    }

    static func unpickler(_ data: UnsafeRawBufferPointer) {
        let graph = PickleGraph()
        // Persistent ids come back as themselves, so torch's storage tuples stay in the graph.
        var u = Unpickler(bytes: data, path: "fuzz.pkl", graph: graph, persistentLoad: { pid, _, _ in pid })
        guard let root = report(try u.load()) else { return }
        _ = graph.describe(root)
        for node in graph.nodes.prefix(10_000) {
            if case let .dict(d) = node { _ = d.stringKeyedEntries.count }
        }
    }

    /// TorchCheckpoint recognises zip and legacy archives by content; the "legacy" and "torch"
    /// targets differ only in their seeds.
    static func torch(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.pt")
        guard let c = report(try TorchCheckpoint(path: path)) else { return }
        _ = c.summary
        for t in c.tensors { _ = t.raw.floats().count }
    }

    static func effw(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.effw")
        guard let f = report(try EffwFile(path: path, verifyChecksums: true)) else { return }
        for e in f.entries {
            if let t = report(try f.rawTensor(e.name)) { _ = t.floats().count }
        }
        if let config = report(try f.config()) { _ = report(try EfficientNet(config: config)) }
        _ = f.provenance()
    }

    static func npy(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.npy")
        guard let a = report(try NPY.read(path: path)) else { return }
        _ = a.raw.floats().count
    }

    static func onnx(_ data: UnsafeRawBufferPointer) {
        guard let m = report(try ONNXModel(bytes: data, path: "fuzz.onnx", directory: ScratchFile.directory)) else { return }
        _ = m.graph.operatorHistogram
        _ = m.opsetVersion()
    }

    /// libhdf5 on an in-memory image (H5LTopen_file_image): a crash here is libhdf5's, which is
    /// why the CLI reads HDF5 in a child process (docs/HOSTILE_INPUT.md).
    static func hdf5(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        let storage = ByteStorage(copying: data)
        guard let file = report(try HDF5File(image: storage, name: "fuzz.h5")),
              let root = report(try file.root()) else { return }
        var budget = 200
        walk(root, depth: 0, budget: &budget)
    }

    /// The Keras reader over libhdf5, in-process: the path effnet-convert takes for .h5 files.
    static func keras(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        guard let file = report(try HDF5File(image: ByteStorage(copying: data), name: "fuzz.h5")),
              let weights = report(try KerasWeightsReader.read(file, config: nil)) else { return }
        for w in weights.weights { _ = w.tensor.floats().count }
    }

    static func walk(_ group: HDF5Group, depth: Int, budget: inout Int) {
        guard depth < 8 else { return }
        for a in report(try group.attributeNames()) ?? [] { _ = report(try group.attribute(a)) }
        for name in report(try group.childNames()) ?? [] {
            budget -= 1
            guard budget > 0 else { return }
            switch report(try group.kind(of: name)) {
            case .group?:
                if let g = report(try group.group(name)) { walk(g, depth: depth + 1, budget: &budget) }
            case .dataset?:
                if let d = report(try group.dataset(name)) {
                    for a in report(try d.attributeNames()) ?? [] { _ = report(try d.attribute(a)) }
                    if let t = report(try d.read()) { _ = t.floats().count }
                }
            default: break
            }
        }
    }

    /// A TensorFlow checkpoint's table and entries: the bytes are the `.index` and, again, its
    /// one data shard, so entries that pass the table checks reach the shard accounting, the
    /// CRC32C checks and the tensor views.
    /// The bytes are also run as the single data block of an otherwise valid table (its trailer
    /// CRC computed here), so that mutations reach the block and entry parsers instead of
    /// stopping at the block checksum; entry CRCs are checked separately for the same reason.
    static func tfBundle(_ data: UnsafeRawBufferPointer) {
        tfBundleIndex(data)
        wrappedAsDataBlock(Array(data)).withUnsafeBytes { tfBundleIndex($0) }
    }

    static func tfBundleIndex(_ data: UnsafeRawBufferPointer) {
        if let table = report(try TableReader(data, path: "fuzz.index")) {
            for e in table.entries { touch(UnsafeRawBufferPointer(rebasing: data[e.value])) }
        }
        _ = ScratchFile.store(data, name: "input.index")
        _ = ScratchFile.store(data, name: "input.data-00000-of-00001")
        guard let bundle = report(try TensorBundle(prefix: ScratchFile.path("input"), verifyChecksums: false)) else { return }
        _ = report(try bundle.verifyChecksums())
        _ = report(try bundle.objectGraph()).map { $0?.paths.count }
        for e in bundle.entries {
            if e.dataType == .string {
                if let strings = report(try bundle.strings(e)) { strings.forEach(touch) }
            } else if let t = report(try bundle.tensor(e)) {
                _ = t.floats().count
            }
        }
    }

    /// `block` as the one data block of a table: trailer with its CRC, an empty metaindex, an
    /// index block pointing at it, the footer (layout in TableReader's documentation).
    static func wrappedAsDataBlock(_ block: [UInt8]) -> [UInt8] {
        func varint(_ v: Int) -> [UInt8] {
            var v = UInt64(v), out: [UInt8] = []
            while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
            return out + [UInt8(v)]
        }
        func fixed32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8((v >> (8 * $0)) & 0xff) } }
        func trailer(_ b: [UInt8]) -> [UInt8] { [0] + fixed32(CRC32C.mask(CRC32C.checksum(b + [0]))) }
        var file = block + trailer(block)
        let meta: [UInt8] = fixed32(0) + fixed32(1)
        let metaOffset = file.count
        file += meta + trailer(meta)
        let handle = varint(0) + varint(block.count)
        let index = [0, 1, UInt8(handle.count), 0xff] + handle + fixed32(0) + fixed32(1)
        let indexOffset = file.count
        file += index + trailer(index)
        var footer = varint(metaOffset) + varint(meta.count) + varint(indexOffset) + varint(index.count)
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += (0 ..< 8).map { UInt8((TableReader.magic >> (8 * UInt64($0))) & 0xff) }
        return file + footer
    }

    /// The whole pipeline a user's file goes through: sniffing, the reader, family detection,
    /// mapping and the strict model load.
    static func source(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.bin")
        guard let checkpoint = report(try SourceReader.read(path: path)) else { return }
        for t in checkpoint.tensors { _ = t.raw.floats().count }
        guard let mappings = report(try Converter.candidateMappings(checkpoint, family: nil)) else { return }
        for m in mappings.prefix(2) { _ = report(try Converter.buildModel(checkpoint, m)) }
    }

    /// SourceReader.read through `ContainedRead` (the child is this executable): whatever libhdf5
    /// does in the child, the parent must get an error, never a crash.
    static func contained(_ data: UnsafeRawBufferPointer) {
        let path = ScratchFile.store(data, name: "input.h5")
        _ = report(try ContainedRead.run(path: path, library: "libhdf5", timeout: 3) { try SourceReader.read(path: path) })
    }

    /// `effnet-fuzz contained FILE`: one contained read, printed as the CLIs print it.
    static func containedReplay(_ path: String) -> Int32 {
        do {
            let c = try ContainedRead.run(path: path, library: "libhdf5") { try SourceReader.read(path: path) }
            print("ok: \(c.format.rawValue), \(c.tensors.count) tensors, \(c.skipped.count) skipped, notes \(c.notes.keys.sorted())")
            for t in c.tensors { print("  \(t.name) \(t.dtype.rawValue) \(t.shape) sum \(t.raw.floats().reduce(0, +))") }
            return 0
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 2
        }
    }

    // MARK: helpers

    /// The value, or nil after formatting the error (error descriptions are code too).
    @inline(never)
    static func report<T>(_ body: @autoclosure () throws -> T) -> T? {
        do { return try body() } catch {
            let text = String(describing: error)
            if verbose { FileHandle.standardError.write(Data("refused: \(text)\n".utf8)) }
            return nil
        }
    }

    /// EFFNET_FUZZ_VERBOSE=1 (replay): print every error a target meets, to see how far inputs get.
    static let verbose = ProcessInfo.processInfo.environment["EFFNET_FUZZ_VERBOSE"] == "1"

    /// Reads every byte, so a bad view trips the address sanitizer.
    @inline(never)
    static func touch(_ b: UnsafeRawBufferPointer) {
        var x: UInt8 = 0
        for v in b { x ^= v }
        blackHole = x
    }

    nonisolated(unsafe) static var blackHole: UInt8 = 0
}

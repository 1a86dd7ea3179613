import EffNet
import EffNetZip

/// What the two container formats have in common once their pickles are read: the object tree,
/// the storages it declared, and a way to get each root storage's bytes (checked against its
/// declared size).
struct LoadedTorchArchive {
    var container: TorchCheckpoint.Container
    var graph: PickleGraph
    var root: PickleValue
    var protocolVersion: Int
    var storages: TorchPersistentLoader
    var bigEndian: Bool
    var notes: [String: String]
    var source: StorageSource
}

/// Where root storages' bytes come from.
protocol StorageSource: AnyObject {
    /// Called once with every key the state dict needs, before any `bytes(_:)`: a chance to
    /// check them all at once (the zip reader verifies their CRCs on all cores).
    func prepare(_ keys: [String]) throws
    /// Bytes of a root storage, exactly its declared size.
    func bytes(_ key: String) throws -> ByteStorage
    /// The check `prepare` was told to leave for later (`Options.deferStorageCRC`), if any.
    var pendingCheck: (@Sendable () throws -> Void)? { get }
}

/// Storages in a torch zip: `<prefix>/data/<key>` entries.
final class ZipStorageSource: StorageSource {
    let archive: ZipArchive
    let prefix: String
    let verifyCRC: Bool
    let deferCRC: Bool
    /// Keys whose CRC `prepare` checked (or scheduled in `pendingCheck`).
    private var verified = Set<String>()
    private(set) var pendingCheck: (@Sendable () throws -> Void)?

    init(archive: ZipArchive, prefix: String, verifyCRC: Bool, deferCRC: Bool = false) {
        self.archive = archive
        self.prefix = prefix
        self.verifyCRC = verifyCRC
        self.deferCRC = deferCRC
    }

    func entry(_ key: String) throws -> ZipEntry {
        guard let e = archive.entry(named: prefix + "/data/" + key) else {
            throw TorchError.storage(path: archive.path, key: key, detail: "entry '\(prefix)/data/\(key)' is missing")
        }
        return e
    }

    func prepare(_ keys: [String]) throws {
        guard verifyCRC else { return }
        let entries = try keys.map(entry)
        if deferCRC {
            let archive = self.archive
            // One thread: the check runs beside the converter's writer, which needs the other core.
            pendingCheck = { try archive.verifyStoredCRCs(entries, parallel: false) }
        } else {
            try archive.verifyStoredCRCs(entries)
        }
        for (k, e) in zip(keys, entries) where e.method == .stored { verified.insert(k) }
    }

    func bytes(_ key: String) throws -> ByteStorage {
        try archive.data(for: try entry(key), verifyCRC: verifyCRC && !verified.contains(key),
                         alreadyVerified: verified.contains(key))
    }
}

/// Storages in a legacy file: ranges of the data section.
final class LegacyStorageSource: StorageSource {
    let file: MappedFile
    let ranges: [String: Range<Int>]
    init(file: MappedFile, ranges: [String: Range<Int>]) {
        self.file = file
        self.ranges = ranges
    }

    func prepare(_ keys: [String]) throws {}
    var pendingCheck: (@Sendable () throws -> Void)? { nil }

    func bytes(_ key: String) throws -> ByteStorage {
        guard let range = ranges[key] else {
            throw TorchError.storage(path: file.path, key: key, detail: "has no data (missing from the storage key list)")
        }
        return try file.storage(range)
    }
}

/// torch.save's zip format (torch >= 1.6).
enum TorchZipReader {
    static func load(_ archive: ZipArchive, options: TorchCheckpoint.Options) throws -> LoadedTorchArchive {
        let path = archive.path
        // The record prefix is whatever the first entry's folder is (archive/, the file's stem, ...).
        guard let first = archive.entries.first else { throw TorchError.notATorchArchive(path: path, detail: "the zip is empty") }
        let prefix = first.name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let pickleEntry = archive.entry(named: prefix + "/data.pkl") else {
            throw TorchError.notATorchArchive(path: path, detail: "no '\(prefix)/data.pkl' entry (entries: \(archive.entries.prefix(5).map(\.name).joined(separator: ", ")))")
        }
        if archive.entry(named: prefix + "/constants.pkl") != nil
            || archive.entries.contains(where: { $0.name.hasPrefix(prefix + "/code/") }) {
            throw TorchError.torchScript(path: path)
        }
        var notes: [String: String] = ["torch_container": "zip", "archive_prefix": prefix]
        var bigEndian = false
        if let e = archive.entry(named: prefix + "/byteorder") {
            let text = try smallText(archive, e, options)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw TorchError.notATorchArchive(path: path, detail: "byteorder entry says '\(text.prefix(20))'")
            }
            notes["byteorder"] = text
        } else {
            notes["byteorder"] = "little (no byteorder entry)"
        }
        if !archive.recordsCRC32 {
            notes["crc32"] = "not recorded (every entry declares 0: torch.save under set_crc32_options(False)); data integrity not checked"
        }
        for (entry, note) in [(prefix + "/version", "torch_archive_version"), (".format_version", "torch_format_version"),
                              (prefix + "/.format_version", "torch_format_version"),
                              (".storage_alignment", "torch_storage_alignment"), (prefix + "/.storage_alignment", "torch_storage_alignment")] {
            if let e = archive.entry(named: entry) { notes[note] = try smallText(archive, e, options) }
        }

        let pickleBytes = try archive.data(for: pickleEntry, verifyCRC: options.verifyCRC)
        let loader = TorchPersistentLoader(path: path, legacy: false)
        let graph = PickleGraph()
        var unpickler = Unpickler(bytes: pickleBytes.bytes, baseOffset: 0, path: path + ":" + pickleEntry.name, graph: graph,
                                  limits: options.pickleLimits, persistentLoad: loader.load)
        let root = try withExtendedLifetime(pickleBytes) { try unpickler.load() }

        // Check every declared storage's entry and size now (no data is read for this).
        for key in loader.order {
            guard let ref = loader.roots[key] else { continue }
            let name = prefix + "/data/" + key
            guard let e = archive.entry(named: name) else {
                throw TorchError.storage(path: path, key: key, detail: "entry '\(name)' is missing")
            }
            guard e.uncompressedSize == ref.byteCount else {
                throw TorchError.storage(path: path, key: key, detail: "\(ref.typeName) of \(ref.numel) elements needs \(ref.byteCount ?? -1) bytes, entry '\(name)' holds \(e.uncompressedSize)")
            }
        }
        return LoadedTorchArchive(container: .zip, graph: graph, root: root, protocolVersion: unpickler.protocolVersion,
                                  storages: loader, bigEndian: bigEndian, notes: notes,
                                  source: ZipStorageSource(archive: archive, prefix: prefix, verifyCRC: options.verifyCRC,
                                                          deferCRC: options.deferStorageCRC))
    }

    /// A short text record (byteorder, version); bounded so a hostile one cannot be large.
    static func smallText(_ archive: ZipArchive, _ e: ZipEntry, _ options: TorchCheckpoint.Options) throws -> String {
        guard e.uncompressedSize <= 64 else {
            throw TorchError.notATorchArchive(path: archive.path, detail: "entry '\(e.name)' is \(e.uncompressedSize) bytes, expected a short text")
        }
        let s = try archive.data(for: e, verifyCRC: options.verifyCRC)
        let text = String(decoding: s.bytes, as: UTF8.self)
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// torch.save's legacy format (torch < 1.6, or `_use_new_zipfile_serialization=False`).
enum TorchLegacyReader {
    /// 0x1950a86a20f9469cfc6c as the little-endian bytes LONG1 stores.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    static let protocolVersion = 1001

    static func load(_ file: MappedFile, options: TorchCheckpoint.Options) throws -> LoadedTorchArchive {
        let path = file.path
        let b = file.bytes
        var position = 0
        let graph = PickleGraph()
        /// Runs the pickle that starts at `position` and moves past it.
        func next(_ loader: PersistentLoader? = nil) throws -> (PickleValue, Int) {
            var u = Unpickler(bytes: UnsafeRawBufferPointer(rebasing: b[position...]), baseOffset: position, path: path,
                              graph: graph, limits: options.pickleLimits, persistentLoad: loader)
            let v = try u.load()
            position += u.consumed
            return (v, u.protocolVersion)
        }
        var at = position
        let (magicValue, _) = try next()
        guard case let .bigInt(m) = magicValue, m == magic else {
            throw TorchError.badLegacyHeader(path: path, offset: at, detail: "first pickle is \(graph.describe(magicValue)), not torch's magic number")
        }
        at = position
        let (version, _) = try next()
        guard version == .int(protocolVersion) else {
            throw TorchError.badLegacyHeader(path: path, offset: at, detail: "protocol version is \(graph.describe(version)), expected \(protocolVersion)")
        }
        at = position
        let (sysInfo, _) = try next()
        guard let info = graph.dict(sysInfo) else {
            throw TorchError.badLegacyHeader(path: path, offset: at, detail: "sys_info is \(graph.describe(sysInfo)), not a dict")
        }
        var notes: [String: String] = ["torch_container": "legacy"]
        var infoParts: [String] = []
        if case let .bool(le)? = info.value(forKey: "little_endian") { infoParts.append("little_endian=\(le ? "True" : "False")") }
        if let sizes = info.value(forKey: "type_sizes").flatMap(graph.dict) {
            for (k, v) in sizes.stringKeyedEntries { if let n = v.int { infoParts.append("\(k)=\(n)") } }
        }
        notes["legacy_sys_info"] = infoParts.joined(separator: " ")
        // torch writes the counts and data little-endian whatever the host's byte order.
        notes["byteorder"] = "little"

        let loader = TorchPersistentLoader(path: path, legacy: true)
        let (root, objectProtocol) = try next(loader.load)
        at = position
        let (keysValue, _) = try next()
        guard case let .list(keyList)? = graph.node(keysValue) else {
            throw TorchError.badLegacyHeader(path: path, offset: at, detail: "storage key list is \(graph.describe(keysValue))")
        }

        // The data section: for each key in list order, an int64 LE element count and the bytes.
        var ranges: [String: Range<Int>] = [:]
        var r = ByteReader(b)
        try r.seek(to: position)
        for item in keyList.items {
            guard let key = TorchPersistentLoader.text(item) else {
                throw TorchError.badLegacyHeader(path: path, offset: at, detail: "storage key \(graph.describe(item)) is not a string")
            }
            guard let ref = loader.roots[key] else {
                throw TorchError.storage(path: path, key: key, detail: "listed in the data section but never declared by the pickle")
            }
            guard ranges[key] == nil else { throw TorchError.storage(path: path, key: key, detail: "listed twice in the data section") }
            let countOffset = r.offset
            guard let count = try? r.readInteger(as: Int64.self) else {
                throw TorchError.storage(path: path, key: key, detail: "element count at offset \(countOffset) is past the end of the file")
            }
            guard count >= 0, count == Int64(ref.numel) else {
                throw TorchError.storage(path: path, key: key, detail: "data section declares \(count) elements at offset \(countOffset), the pickle declared \(ref.numel)")
            }
            guard let bytes = ref.byteCount, bytes <= r.remaining else {
                throw TorchError.storage(path: path, key: key, detail: "\(ref.numel) x \(ref.elementSize) bytes at offset \(r.offset) run past the end of the \(file.count)-byte file")
            }
            ranges[key] = r.index ..< r.index + bytes
            try r.skip(bytes)
        }
        if r.remaining > 0 { notes["legacy_trailing_bytes"] = "\(r.remaining)" }
        return LoadedTorchArchive(container: .legacy, graph: graph, root: root, protocolVersion: objectProtocol,
                                  storages: loader, bigEndian: false, notes: notes,
                                  source: LegacyStorageSource(file: file, ranges: ranges))
    }

    /// True when `bytes` start like a legacy torch file: a pickle (any protocol 2-5, possibly
    /// framed) of the magic number 0x1950a86a20f9469cfc6c.
    static func looksLikeLegacy(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        guard bytes.count >= 2, bytes[0] == 0x80 else { return false }
        i = 2
        if bytes.count > i + 9, bytes[i] == 0x95 { i += 9 } // FRAME
        guard bytes.count >= i + 12, bytes[i] == 0x8a, bytes[i + 1] == 0x0a else { return false }
        return Array(bytes[(i + 2) ..< (i + 12)]) == magic
    }
}

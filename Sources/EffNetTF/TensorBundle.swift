import Dispatch
import EffNet

/// A TensorFlow checkpoint (tensor bundle) read without TensorFlow: the `PREFIX.index` table of
/// `BundleEntryProto`s and the raw `PREFIX.data-NNNNN-of-MMMMM` shards it points into.
///
/// Opening parses the whole index, maps every shard an entry uses and checks every entry's
/// extent against its shard before any tensor is handed out. Tensors are `RawTensor` views into
/// the mapped shards (no copy). `verifyChecksums()` checks every entry's masked CRC32C; `open`
/// runs it unless asked to leave it for later.
public final class TensorBundle: @unchecked Sendable {
    /// The largest `.index` file read. An EfficientNet-L2 index with EMA copies and optimizer
    /// slots is well under 1 MiB; this bounds memory for a hostile one.
    public static let maxIndexBytes = 64 << 20
    /// The key of an object-based (TF2) checkpoint's object graph.
    public static let objectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

    /// The checkpoint prefix ("dir/model.ckpt-12000").
    public let prefix: String
    public var indexPath: String { prefix + ".index" }
    public let header: BundleHeader
    /// Every variable, in key order (the header's empty key excluded).
    public let entries: [BundleEntry]
    private let shards: [Int: MappedFile]

    /// Opens the bundle at `prefix` (the path without `.index`).
    /// - Parameter verifyChecksums: check every entry's CRC32C now (else call `verifyChecksums()`
    ///   before trusting the bytes).
    /// - Throws: `FileError` for an unreadable index, `TFCheckpointError` naming the file and the
    ///   offset or key for anything inconsistent.
    public init(prefix: String, verifyChecksums: Bool = true) throws {
        self.prefix = prefix
        let indexPath = prefix + ".index"
        let index = try MappedFile(path: indexPath)
        guard index.count <= Self.maxIndexBytes else {
            throw TFCheckpointError.tooLarge(path: indexPath, size: index.count, limit: Self.maxIndexBytes)
        }
        let table = try TableReader(index.bytes, path: indexPath)
        guard let first = table.entries.first, first.key.isEmpty else {
            throw TFCheckpointError.badHeader(path: indexPath, detail: "no entry under the empty key")
        }
        header = try BundleProtoDecoder.header(UnsafeRawBufferPointer(rebasing: index.bytes[first.value]), path: indexPath)
        var entries: [BundleEntry] = []
        entries.reserveCapacity(table.entries.count - 1)
        for e in table.entries.dropFirst() {
            let key = String(decoding: e.key, as: UTF8.self)
            entries.append(try BundleProtoDecoder.entry(UnsafeRawBufferPointer(rebasing: index.bytes[e.value]), key: key, path: indexPath))
        }
        // The accounting, once: every entry's shard exists and holds its bytes.
        var shards: [Int: MappedFile] = [:]
        for e in entries {
            guard e.shardID < header.shardCount else {
                throw TFCheckpointError.badEntry(path: indexPath, key: e.key, detail: "shard \(e.shardID), the header declares \(header.shardCount)")
            }
            let shard: MappedFile
            if let s = shards[e.shardID] {
                shard = s
            } else {
                let path = Self.shardPath(prefix: prefix, shard: e.shardID, of: header.shardCount)
                do { shard = try MappedFile(path: path) } catch {
                    throw TFCheckpointError.missingShard(path: path, index: indexPath, key: e.key, reason: "\(error)")
                }
                shards[e.shardID] = shard
            }
            guard e.offset <= shard.count, e.size <= shard.count - e.offset else {
                throw TFCheckpointError.shardTooShort(path: shard.path, index: indexPath, key: e.key, offset: e.offset, size: e.size, shardSize: shard.count)
            }
        }
        self.entries = entries
        self.shards = shards
        if verifyChecksums { try self.verifyChecksums() }
    }

    /// "PREFIX.data-00000-of-00001", as TensorFlow names shard `shard` of `count`.
    public static func shardPath(prefix: String, shard: Int, of count: Int) -> String {
        func five(_ n: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "\(prefix).data-\(five(shard))-of-\(five(count))"
    }

    public func entry(_ key: String) -> BundleEntry? { entries.first { $0.key == key } }

    /// The path of the shard holding `entry`.
    public func shardPath(of entry: BundleEntry) -> String {
        Self.shardPath(prefix: prefix, shard: entry.shardID, of: header.shardCount)
    }

    /// The stored bytes of `entry` (a view into the mapped shard).
    public func bytes(of entry: BundleEntry) -> UnsafeRawBufferPointer {
        guard let shard = shards[entry.shardID] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: shard.bytes[entry.offset ..< entry.offset + entry.size])
    }

    /// A numeric entry as a view into its mapped shard.
    /// - Throws: `TFCheckpointError.badEntry` for a dtype without an element type (string,
    ///   resource, complex); `RawTensorError` cannot happen after the accounting but is passed on.
    public func tensor(_ entry: BundleEntry) throws -> RawTensor {
        guard let dtype = entry.dataType.dtype, let shard = shards[entry.shardID] else {
            throw TFCheckpointError.badEntry(path: indexPath, key: entry.key, detail: "\(entry.dataType) is not a numeric tensor")
        }
        let storage = try shard.storage(entry.offset ..< entry.offset + entry.size)
        return try RawTensor(dtype: dtype, shape: entry.shape, storage: storage, bigEndian: header.bigEndian)
    }

    /// Checks every entry's masked CRC32C against its bytes, on all cores.
    /// - Throws: `TFCheckpointError.checksum` for the first entry (in key order) that disagrees.
    public func verifyChecksums() throws {
        var failures = [TFCheckpointError?](repeating: nil, count: entries.count)
        failures.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let out = slots  // each iteration writes its own slot
            DispatchQueue.concurrentPerform(iterations: entries.count) { i in out[i] = check(entries[i]) }
        }
        if let first = failures.lazy.compactMap({ $0 }).first { throw first }
    }

    /// The checksum failure of one entry, nil when it matches.
    func check(_ entry: BundleEntry) -> TFCheckpointError? {
        let bytes = self.bytes(of: entry)
        let computed: UInt32
        if entry.dataType == .string {
            guard let c = try? StringTensor.checksum(bytes, count: entry.elementCount) else {
                return .badEntry(path: shardPath(of: entry), key: entry.key, detail: "string data at offset \(entry.offset) does not parse (checkpoint \(indexPath))")
            }
            computed = c
        } else {
            computed = CRC32C.checksum(bytes)
        }
        guard CRC32C.mask(computed) == entry.maskedCRC32C else {
            return .checksum(path: shardPath(of: entry), index: indexPath, key: entry.key, offset: entry.offset,
                             stored: entry.maskedCRC32C, computed: CRC32C.mask(computed))
        }
        return nil
    }

    /// A string entry's elements (e.g. the object graph).
    /// - Throws: `TFCheckpointError.badEntry` when the entry is not a string tensor or its bytes
    ///   do not parse.
    public func strings(_ entry: BundleEntry) throws -> [UnsafeRawBufferPointer] {
        guard entry.dataType == .string else {
            throw TFCheckpointError.badEntry(path: indexPath, key: entry.key, detail: "\(entry.dataType) is not a string tensor")
        }
        do { return try StringTensor.elements(bytes(of: entry), count: entry.elementCount) } catch {
            throw TFCheckpointError.badEntry(path: shardPath(of: entry), key: entry.key, detail: "string data at offset \(entry.offset) does not parse")
        }
    }
}

/// Everything that can be wrong with a TensorFlow checkpoint. Every case names the file (the
/// `.index` table or the data shard) and where in it: the byte offset, or the variable's key.
public enum TFCheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file is too short for a table or its last 8 bytes are not the table magic.
    case badFooter(path: String, detail: String)
    /// A block handle, block trailer or block body is inconsistent (`offset`: the block's start).
    case badBlock(path: String, offset: Int, detail: String)
    /// A block's stored masked CRC32C disagrees with its bytes.
    case blockChecksum(path: String, offset: Int, stored: UInt32, computed: UInt32)
    /// A block is Snappy-compressed (or of an unknown type); TensorFlow writes bundles uncompressed.
    case compressedBlock(path: String, offset: Int, type: UInt8)
    /// The empty key's BundleHeaderProto is missing or unusable.
    case badHeader(path: String, detail: String)
    /// An entry's BundleEntryProto is undecodable or inconsistent (shape, size, shard, dtype).
    case badEntry(path: String, key: String, detail: String)
    /// A partitioned variable (its entry lists slices), which EffNetKit does not assemble.
    case partitioned(path: String, key: String)
    /// A data shard (`path`) that an entry of the index (`index`) needs does not exist or cannot be read.
    case missingShard(path: String, index: String, key: String, reason: String)
    /// An entry's bytes run past the end of its shard.
    case shardTooShort(path: String, index: String, key: String, offset: Int, size: Int, shardSize: Int)
    /// An entry's bytes disagree with its stored masked CRC32C.
    case checksum(path: String, index: String, key: String, offset: Int, stored: UInt32, computed: UInt32)
    /// The `_CHECKPOINTABLE_OBJECT_GRAPH` entry is undecodable or refers to nodes that do not exist.
    case badObjectGraph(path: String, detail: String)
    /// The index file is larger than any real checkpoint's index.
    case tooLarge(path: String, size: Int, limit: Int)
    /// None of the forms a checkpoint can be given in (folder, prefix, .index, SavedModel) fits.
    case notACheckpoint(path: String, detail: String)

    public var description: String {
        func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
        switch self {
        case let .badFooter(path, detail): return "\(path): not a TensorFlow checkpoint index: \(detail)"
        case let .badBlock(path, offset, detail): return "\(path): table block at offset \(offset): \(detail)"
        case let .blockChecksum(path, offset, stored, computed):
            return "\(path): table block at offset \(offset): CRC32C mismatch (stored \(hex(stored)), computed \(hex(computed)))"
        case let .compressedBlock(path, offset, type):
            return "\(path): table block at offset \(offset) is compressed (type \(type)); only uncompressed tables are read"
        case let .badHeader(path, detail): return "\(path): bundle header: \(detail)"
        case let .badEntry(path, key, detail): return "\(path): entry '\(key)': \(detail)"
        case let .partitioned(path, key):
            return "\(path): entry '\(key)' is a partitioned variable (stored in slices), which is not supported"
        // Shard errors name the index too: it is the file a user may have given.
        case let .missingShard(path, index, key, reason):
            return "\(path): data shard for '\(key)' cannot be read (checkpoint \(index)): \(reason)"
        case let .shardTooShort(path, index, key, offset, size, shardSize):
            return "\(path): entry '\(key)' needs bytes \(offset)..<\(offset + size) but the shard holds \(shardSize) (checkpoint \(index))"
        case let .checksum(path, index, key, offset, stored, computed):
            return "\(path): entry '\(key)' at offset \(offset): CRC32C mismatch (stored \(hex(stored)), computed \(hex(computed))) (checkpoint \(index))"
        case let .badObjectGraph(path, detail): return "\(path): object graph (\(TensorBundle.objectGraphKey)): \(detail)"
        case let .tooLarge(path, size, limit): return "\(path): index of \(size) bytes exceeds the limit of \(limit)"
        case let .notACheckpoint(path, detail): return "\(path): \(detail)"
        }
    }
}

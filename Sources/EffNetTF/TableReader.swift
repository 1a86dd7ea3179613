/// Reads a LevelDB-format table as TensorFlow writes a checkpoint's `.index` file
/// (tensorflow/core/lib/io/table*, the same layout as LevelDB's table/format.md):
///
///     [data block 0][trailer] ... [data block n][trailer]
///     [metaindex block][trailer] [index block][trailer]
///     footer (48 bytes): metaindex handle, index handle (varint64 offset and size each),
///                        zero padding to 40 bytes, magic 0xdb4775248b80fb57 (fixed64 LE)
///     trailer (5 bytes): block type (0 = uncompressed), masked CRC32C of block + type byte
///     block: entries, then the restart offsets (fixed32 each), then their count (fixed32)
///     entry: shared key bytes, unshared key bytes, value length (varint32 each), key tail, value
///
/// The index block maps each data block's last key to its handle. Every block's CRC is checked
/// before its bytes are read; every varint, length and offset is checked against the block it
/// lies in; keys must rise strictly across the table. Nothing is copied but the keys.
public struct TableReader {
    public static let magic: UInt64 = 0xdb47_7524_8b80_fb57
    public static let footerSize = 48
    static let trailerSize = 5

    /// One key and where its value lies in the file.
    public struct Entry: Equatable {
        public var key: [UInt8]
        public var value: Range<Int>
    }

    /// The table's entries in key order.
    public let entries: [Entry]

    /// Parses the whole table.
    /// - Throws: `TFCheckpointError.badFooter`, `.badBlock`, `.blockChecksum`, `.compressedBlock`.
    public init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count >= Self.footerSize else {
            throw TFCheckpointError.badFooter(path: path, detail: "\(bytes.count) bytes, shorter than the 48-byte footer")
        }
        let footerStart = bytes.count - Self.footerSize
        let magic = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self).littleEndian
        guard magic == Self.magic else {
            throw TFCheckpointError.badFooter(path: path, detail: "magic 0x\(String(magic, radix: 16)) at offset \(bytes.count - 8), expected 0x\(String(Self.magic, radix: 16))")
        }
        var footer = VarintCursor(bytes, range: footerStart ..< bytes.count - 8)
        func handle(_ what: String) throws -> Range<Int> {
            guard let offset = footer.varint64(), let size = footer.varint64() else {
                throw TFCheckpointError.badFooter(path: path, detail: "unreadable \(what) handle at offset \(footer.position)")
            }
            return try Self.blockRange(offset: offset, size: size, fileSize: footerStart, path: path, what: what)
        }
        let metaindex = try handle("metaindex block")
        let index = try handle("index block")
        // The metaindex is empty in TensorFlow's tables; its CRC is still checked.
        _ = try Self.block(bytes, metaindex, path: path)
        var entries: [Entry] = []
        for indexEntry in try Self.block(bytes, index, path: path) {
            var h = VarintCursor(bytes, range: indexEntry.value)
            guard let offset = h.varint64(), let size = h.varint64() else {
                throw TFCheckpointError.badBlock(path: path, offset: index.lowerBound, detail: "unreadable data block handle at offset \(indexEntry.value.lowerBound)")
            }
            let range = try Self.blockRange(offset: offset, size: size, fileSize: footerStart, path: path, what: "data block")
            for e in try Self.block(bytes, range, path: path) {
                if let last = entries.last, !last.key.lexicographicallyPrecedes(e.key) {
                    throw TFCheckpointError.badBlock(path: path, offset: range.lowerBound, detail: "keys out of order at offset \(e.value.lowerBound)")
                }
                entries.append(e)
            }
        }
        self.entries = entries
    }

    /// A block's contents range after checking that it and its trailer lie before the footer.
    static func blockRange(offset: UInt64, size: UInt64, fileSize: Int, path: String, what: String) throws -> Range<Int> {
        guard offset <= UInt64(fileSize), size <= UInt64(fileSize),
              Int(offset) + Int(size) + trailerSize <= fileSize else {
            throw TFCheckpointError.badBlock(path: path, offset: Int(clamping: offset),
                                             detail: "\(what) of \(size) bytes plus its trailer runs past the end of the table (\(fileSize) bytes before the footer)")
        }
        return Int(offset) ..< Int(offset) + Int(size)
    }

    /// The entries of the block at `range` (contents without trailer), after its trailer checks.
    static func block(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, path: String) throws -> [Entry] {
        let start = range.lowerBound
        let type = bytes[range.upperBound]
        let stored = bytes.loadUnaligned(fromByteOffset: range.upperBound + 1, as: UInt32.self).littleEndian
        var crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[range]))
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[range.upperBound ..< range.upperBound + 1]), seed: crc)
        guard CRC32C.unmask(stored) == crc else {
            throw TFCheckpointError.blockChecksum(path: path, offset: start, stored: stored, computed: CRC32C.mask(crc))
        }
        guard type == 0 else { throw TFCheckpointError.compressedBlock(path: path, offset: start, type: type) }
        func fail(_ detail: String) -> TFCheckpointError { .badBlock(path: path, offset: start, detail: detail) }

        guard range.count >= 4 else { throw fail("\(range.count) bytes, too short for its restart count") }
        let restartCount = Int(bytes.loadUnaligned(fromByteOffset: range.upperBound - 4, as: UInt32.self).littleEndian)
        guard restartCount <= (range.count - 4) / 4 else {
            throw fail("\(restartCount) restart points do not fit in \(range.count) bytes")
        }
        let restartsStart = range.upperBound - 4 - 4 * restartCount
        let restarts = (0 ..< restartCount).map {
            Int(bytes.loadUnaligned(fromByteOffset: restartsStart + 4 * $0, as: UInt32.self).littleEndian)
        }

        var entries: [Entry] = []
        var entryStarts: [Int: Int] = [:]  // block-relative offset -> shared key length there
        var key: [UInt8] = []
        var cursor = VarintCursor(bytes, range: start ..< restartsStart)
        while !cursor.isAtEnd {
            let at = cursor.position
            guard let shared = cursor.varint32(), let unshared = cursor.varint32(), let valueLength = cursor.varint32() else {
                throw fail("unreadable entry lengths at offset \(at)")
            }
            guard shared <= key.count else {
                throw fail("entry at offset \(at) shares \(shared) key bytes, the previous key has \(key.count)")
            }
            guard let keyTail = cursor.take(unshared), let value = cursor.take(valueLength) else {
                throw fail("entry at offset \(at): key of \(unshared) and value of \(valueLength) bytes run past the block's entries (which end at offset \(restartsStart))")
            }
            entryStarts[at - start] = shared
            key.removeSubrange(shared...)
            key.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[keyTail]))
            entries.append(Entry(key: key, value: value))
        }
        // Restart points: ascending offsets of entries that store their whole key; the first is 0.
        // (An empty block, such as TensorFlow's metaindex, still records one restart at 0.)
        if entries.isEmpty, restarts.allSatisfy({ $0 == 0 }), restarts.count <= 1 { return [] }
        var previous = -1
        for r in restarts {
            guard r > previous, let shared = entryStarts[r], shared == 0 else {
                throw fail("restart offset \(r) is not the start of an entry with a whole key (block entries span 0..<\(restartsStart - start))")
            }
            previous = r
        }
        if !entries.isEmpty, restarts.first != 0 { throw fail("the first entry is not a restart point") }
        return entries
    }
}

/// Reads LevelDB varints inside one range of a buffer; nil (never a trap) when a varint or a
/// length runs past the range or overflows.
struct VarintCursor {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    mutating func varint64() -> UInt64? {
        var result: UInt64 = 0
        var p = position
        for shift in stride(from: 0, to: 64, by: 7) {
            guard p < end else { return nil }
            let byte = bytes[p]
            p += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { position = p; return result }
        }
        return nil
    }

    mutating func varint32() -> Int? {
        let saved = position
        guard let v = varint64(), v <= UInt64(UInt32.max) else { position = saved; return nil }
        return Int(v)
    }

    /// The next `count` bytes' range, or nil when they run past the end.
    mutating func take(_ count: Int) -> Range<Int>? {
        guard count >= 0, count <= end - position else { return nil }
        defer { position += count }
        return position ..< position + count
    }
}

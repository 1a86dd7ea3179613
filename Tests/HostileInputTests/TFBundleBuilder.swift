import EffNetTF

/// Writes TensorFlow tensor bundles byte by byte (LevelDB table + BundleEntryProtos + one data
/// shard) so that a test can damage exactly one field and still pass every check before it
/// (block CRCs are computed after the damage). Encodings as in TableReader's and
/// Schemas/tensor_bundle.proto's documentation.
enum TFBundleBuilder {
    struct Entry {
        var key: String
        var dtype: Int = 1  // DT_FLOAT
        var shape: [Int64]
        var shard = 0
        var offset: Int
        var size: Int
        var maskedCRC: UInt32
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    static func fixed32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8((v >> (8 * $0)) & 0xff) } }

    static func varintField(_ number: Int, _ v: UInt64) -> [UInt8] { varint(UInt64(number << 3)) + varint(v) }
    static func bytesField(_ number: Int, _ b: [UInt8]) -> [UInt8] { varint(UInt64(number << 3 | 2)) + varint(UInt64(b.count)) + b }

    static func header(shards: Int = 1) -> [UInt8] {
        varintField(1, UInt64(shards)) + bytesField(3, varintField(1, 1))
    }

    static func entryProto(_ e: Entry) -> [UInt8] {
        let dims = e.shape.flatMap { bytesField(2, varintField(1, UInt64(bitPattern: $0))) }
        var out = varintField(1, UInt64(e.dtype)) + bytesField(2, dims)
        if e.shard != 0 { out += varintField(3, UInt64(e.shard)) }
        if e.offset != 0 { out += varintField(4, UInt64(e.offset)) }
        out += varintField(5, UInt64(e.size))
        out += varint(6 << 3 | 5) + fixed32(e.maskedCRC)
        return out
    }

    /// A block's contents (no trailer): prefix-compressed entries, restart points, their count.
    static func block(_ entries: [([UInt8], [UInt8])], restartInterval: Int = 16) -> [UInt8] {
        var out: [UInt8] = [], restarts: [UInt32] = [], last: [UInt8] = []
        for (i, (key, value)) in entries.enumerated() {
            var shared = 0
            if i % restartInterval == 0 {
                restarts.append(UInt32(out.count))
            } else {
                while shared < min(last.count, key.count) && last[shared] == key[shared] { shared += 1 }
            }
            out += varint(UInt64(shared)) + varint(UInt64(key.count - shared)) + varint(UInt64(value.count))
            out += key[shared...] + value
            last = key
        }
        if restarts.isEmpty { restarts = [0] }
        for r in restarts { out += fixed32(r) }
        return out + fixed32(UInt32(restarts.count))
    }

    static func trailer(_ block: [UInt8], type: UInt8 = 0) -> [UInt8] {
        [type] + fixed32(CRC32C.mask(CRC32C.checksum(block + [type])))
    }

    /// A whole table: one data block (`damage` applied before its CRC), an empty metaindex, an
    /// index block, the footer.
    static func table(_ entries: [([UInt8], [UInt8])], restartInterval: Int = 16, blockType: UInt8 = 0,
                      damage: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var data = block(entries, restartInterval: restartInterval)
        damage(&data)
        var file = data + trailer(data, type: blockType)
        let metaOffset = file.count
        let meta = block([])
        file += meta + trailer(meta)
        let indexOffset = file.count
        let index = block([(entries.last?.0 ?? [], varint(0) + varint(UInt64(data.count)))])
        file += index + trailer(index)
        var footer = varint(UInt64(metaOffset)) + varint(UInt64(meta.count)) + varint(UInt64(indexOffset)) + varint(UInt64(index.count))
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += (0 ..< 8).map { UInt8((TableReader.magic >> (8 * UInt64($0))) & 0xff) }
        return file + footer
    }

    /// A scalar string tensor's stored bytes and their unmasked CRC32C, as tensor_bundle.cc
    /// writes them: varint64 length, masked CRC32C of the length (as uint32), the bytes.
    static func stringTensor(_ value: [UInt8]) -> (bytes: [UInt8], crc: UInt32) {
        let length = fixed32(UInt32(value.count))
        var crc = CRC32C.checksum(length)
        let lengthCRC = fixed32(CRC32C.mask(crc))
        crc = CRC32C.checksum(lengthCRC, seed: crc)
        crc = CRC32C.checksum(value, seed: crc)
        return (varint(UInt64(value.count)) + lengthCRC + value, crc)
    }

    /// A TrackableObjectGraph: per node, its children (node id, local name) and attributes
    /// (full name, checkpoint key).
    static func objectGraph(_ nodes: [(children: [(Int, String)], attributes: [(String, String)])]) -> [UInt8] {
        nodes.flatMap { node in
            let children = node.children.flatMap { id, name in bytesField(1, varintField(1, UInt64(id)) + bytesField(2, Array(name.utf8))) }
            let attributes = node.attributes.flatMap { full, key in
                bytesField(2, bytesField(1, Array("VARIABLE_VALUE".utf8)) + bytesField(2, Array(full.utf8)) + bytesField(3, Array(key.utf8)))
            }
            return bytesField(1, children + attributes)
        }
    }

    /// A valid bundle of float32 tensors (name, shape; values i * 0.5) as (index, shard) bytes.
    /// With `objectGraph`, the bundle also holds it as `_CHECKPOINTABLE_OBJECT_GRAPH`.
    static func bundle(_ tensors: [(String, [Int64])], restartInterval: Int = 16, objectGraph: [UInt8]? = nil,
                       edit: (inout [Entry]) -> Void = { _ in },
                       damage: (inout [UInt8]) -> Void = { _ in }) -> (index: [UInt8], shard: [UInt8]) {
        var shard: [UInt8] = [], entries: [Entry] = []
        if let objectGraph {
            let (bytes, crc) = stringTensor(objectGraph)
            entries.append(Entry(key: TensorBundle.objectGraphKey, dtype: 7, shape: [], offset: 0, size: bytes.count,
                                 maskedCRC: CRC32C.mask(crc)))
            shard += bytes
        }
        for (name, shape) in tensors.sorted(by: { $0.0 < $1.0 }) {
            let count = Int(shape.reduce(1, *))
            var bytes: [UInt8] = []
            for i in 0 ..< count { bytes += fixed32((Float(i) * 0.5).bitPattern) }
            entries.append(Entry(key: name, shape: shape, offset: shard.count, size: bytes.count,
                                 maskedCRC: CRC32C.mask(CRC32C.checksum(bytes))))
            shard += bytes
        }
        edit(&entries)
        let kvs = [([UInt8](), header())] + entries.map { (Array($0.key.utf8), entryProto($0)) }
        return (table(kvs, restartInterval: restartInterval, damage: damage), shard)
    }
}

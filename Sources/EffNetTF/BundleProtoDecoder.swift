import CProtobufC
import TFCheckpointProto

/// The one place where bundle bytes go into protobuf-c: decodes the header and entry values into
/// Swift values and frees the C messages before returning.
enum BundleProtoDecoder {
    /// The largest value decoded. A real entry is tens of bytes; this bounds what protobuf-c may
    /// allocate for one (a repeated field costs a few dozen bytes per input byte at most).
    static let maxValueBytes = 1 << 16
    /// The highest rank accepted; weights have at most 4 dimensions.
    static let maxRank = 8
    /// TensorFlow's tensor bundle format version (`kTensorBundleVersion`).
    static let formatVersion = 1

    /// - Throws: `TFCheckpointError.badHeader`.
    static func header(_ value: UnsafeRawBufferPointer, path: String) throws -> BundleHeader {
        guard value.count <= maxValueBytes else { throw TFCheckpointError.badHeader(path: path, detail: "\(value.count) bytes") }
        guard let m = withBase(value, { tensorflow__bundle_header_proto__unpack(nil, value.count, $0) }) else {
            throw TFCheckpointError.badHeader(path: path, detail: "not a BundleHeaderProto")
        }
        defer { tensorflow__bundle_header_proto__free_unpacked(m, nil) }
        let p = m.pointee
        let endianness = Int32(bitPattern: UInt32(truncatingIfNeeded: p.endianness.rawValue))
        guard endianness == 0 || endianness == 1 else {
            throw TFCheckpointError.badHeader(path: path, detail: "unknown endianness \(endianness)")
        }
        guard p.num_shards >= 1, p.num_shards <= 100_000 else {
            throw TFCheckpointError.badHeader(path: path, detail: "\(p.num_shards) data shards")
        }
        let producer = Int(p.version?.pointee.producer ?? 0)
        let minConsumer = Int(p.version?.pointee.min_consumer ?? 0)
        guard minConsumer <= formatVersion else {
            throw TFCheckpointError.badHeader(path: path, detail: "needs a reader of bundle format \(minConsumer) or later (this reads \(formatVersion))")
        }
        return BundleHeader(shardCount: Int(p.num_shards), bigEndian: endianness == 1, producer: producer, minConsumer: minConsumer)
    }

    /// - Throws: `TFCheckpointError.badEntry`, `.partitioned`.
    static func entry(_ value: UnsafeRawBufferPointer, key: String, path: String) throws -> BundleEntry {
        func fail(_ detail: String) -> TFCheckpointError { .badEntry(path: path, key: key, detail: detail) }
        guard value.count <= maxValueBytes else { throw fail("value of \(value.count) bytes") }
        guard let m = withBase(value, { tensorflow__bundle_entry_proto__unpack(nil, value.count, $0) }) else {
            throw fail("not a BundleEntryProto")
        }
        defer { tensorflow__bundle_entry_proto__free_unpacked(m, nil) }
        let p = m.pointee
        if p.n_slices > 0 { throw TFCheckpointError.partitioned(path: path, key: key) }
        let type = TFDataType(rawValue: Int32(bitPattern: UInt32(truncatingIfNeeded: p.dtype.rawValue)))
        var shape: [Int] = []
        if let s = p.shape {
            guard s.pointee.unknown_rank == 0 else { throw fail("shape of unknown rank") }
            guard s.pointee.n_dim <= maxRank else { throw fail("rank \(s.pointee.n_dim) exceeds \(maxRank)") }
            for i in 0 ..< s.pointee.n_dim {
                guard let d = s.pointee.dim[i] else { throw fail("empty dimension") }
                let size = d.pointee.size
                guard size >= 0, size <= Int64(Int32.max) else { throw fail("dimension \(i) of size \(size)") }
                shape.append(Int(size))
            }
        }
        guard p.shard_id >= 0 else { throw fail("shard \(p.shard_id)") }
        guard p.offset >= 0, p.size >= 0, p.offset <= Int64(Int.max / 2), p.size <= Int64(Int.max / 2) else {
            throw fail("offset \(p.offset), size \(p.size)")
        }
        let entry = BundleEntry(key: key, dataType: type, shape: shape, shardID: Int(p.shard_id),
                                offset: Int(p.offset), size: Int(p.size), maskedCRC32C: p.crc32c)
        // The element count and byte count must agree (strings store lengths, so only a lower bound).
        guard let count = shape.reduce(Optional(1), { acc, d in acc.flatMap { a in
            let (r, o) = a.multipliedReportingOverflow(by: d); return o ? nil : r } }) else {
            throw fail("shape \(shape) overflows")
        }
        if let dtype = type.dtype {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == entry.size else {
                throw fail("\(type) \(shape) needs \(overflow ? "more than \(Int.max)" : "\(bytes)") bytes, the entry stores \(entry.size)")
            }
        } else if type == .string {
            guard count <= entry.size else { throw fail("\(count) strings cannot fit in \(entry.size) bytes") }
        }
        return entry
    }

    private static func withBase<T>(_ value: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>) -> T?) -> T? {
        // protobuf-c needs a non-null pointer even for an empty (valid, all-default) message.
        var empty: UInt8 = 0
        if let base = value.baseAddress, value.count > 0 { return body(base.assumingMemoryBound(to: UInt8.self)) }
        return withUnsafePointer(to: &empty) { body($0) }
    }
}

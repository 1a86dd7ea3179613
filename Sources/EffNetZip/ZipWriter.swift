import EffNet

/// Writes a zip archive of STORED (uncompressed) entries, laid out byte for byte as PyTorch's
/// writer lays out a `torch.save` archive (miniz driven by caffe2/serialize/inline_container.cc,
/// torch 2.x):
/// - each local header carries an "FB" extra field of 'Z' padding so that the entry's data starts
///   at a multiple of `alignment` (torch: 64) in the file, where a reader can map it in place;
/// - the local header's CRC-32 and sizes are zero and a 16-byte data descriptor follows the data
///   (flag bit 3); an empty entry has neither (flags 0x0800 instead of 0x0808); every name is
///   flagged UTF-8 (bit 11);
/// - times, dates, versions and attributes are zero, so equal input gives equal bytes;
/// - the archive ends with a ZIP64 end record and locator (torch's writer always writes them)
///   before the classic end record, all holding the real counts and offsets.
///
/// Entries, their offsets and the central directory must each stay under 4 GiB: an archive that
/// would need ZIP64 entry records is refused with `ZipWriteError.needsZip64` before the entry's
/// first byte is emitted (torch switches to ZIP64 records there; this writer does not write them).
///
/// Bytes go to the caller's `emit` closure in file order; only headers are assembled here, entry
/// data is passed through as given. `ZipArchive` reads what this writes (Tests/EffNetTorchTests).
/// An error thrown by `emit` leaves the archive unfinished: discard the output.
public struct ZipWriter {
    /// One written entry, as its central directory header will describe it.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let size: Int
        public let crc32: UInt32
        public let localHeaderOffset: Int
        /// File offset of the first data byte: a multiple of the writer's alignment.
        public let dataOffset: Int
    }

    /// Data alignment in bytes (1 to 4096).
    public let alignment: Int
    /// Bytes emitted so far: the offset of the next local header.
    public private(set) var offset = 0
    /// Entries written so far, in file order.
    public private(set) var entries: [Entry] = []
    private var names: Set<String> = []
    private var isFinished = false

    /// The signature that starts a data descriptor ("PK\u{7}\u{8}").
    public static let dataDescriptorSignatureValue: UInt32 = 0x0807_4b50
    /// General purpose flags: bit 11 (names are UTF-8), bit 3 (sizes and CRC in a data descriptor).
    static let utf8Flag: UInt16 = 0x0800
    static let descriptorFlag: UInt16 = 0x0008
    /// The extra field id torch's padding record uses: the bytes "FB".
    static let paddingFieldID: UInt16 = 0x4246
    /// Sizes and offsets from here on need ZIP64 records (miniz's test is `>= MZ_UINT32_MAX`).
    static let zip64Threshold = Int(UInt32.max)

    public init(alignment: Int = 64) {
        self.alignment = max(1, min(alignment, 4096))
    }

    /// Writes one entry: local header with alignment padding, the data, its data descriptor.
    /// - Returns: the entry as recorded (its CRC-32 is computed here, with `CRC32`).
    /// - Throws: `ZipWriteError` (empty, over-long or repeated name; sizes over 32 bits; after
    ///   `finish`) before anything is emitted; whatever `emit` throws.
    @discardableResult
    public mutating func add(name: String, data: UnsafeRawBufferPointer,
                             emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Entry {
        guard !isFinished else { throw ZipWriteError.finished }
        let nameBytes = Array(name.utf8)
        guard !nameBytes.isEmpty else { throw ZipWriteError.invalidName(entry: name, detail: "empty") }
        guard nameBytes.count <= Int(UInt16.max) else {
            throw ZipWriteError.invalidName(entry: String(name.prefix(64)) + "...",
                                            detail: "\(nameBytes.count) bytes, over the 65535 a zip header can hold")
        }
        guard !names.contains(name) else { throw ZipWriteError.duplicateEntry(entry: name) }
        guard data.count < Self.zip64Threshold else {
            throw ZipWriteError.needsZip64(entry: name, detail: "\(data.count) bytes")
        }
        guard offset < Self.zip64Threshold else {
            throw ZipWriteError.needsZip64(entry: name, detail: "local header at offset \(offset)")
        }

        // As torch's getPadding: the data would start after the 30-byte header, the name and the
        // 4-byte extra field header; pad that up to the alignment.
        let unpadded = offset + CentralDirectory.localFixedSize + nameBytes.count + 4
        let padding = (alignment - unpadded % alignment) % alignment
        let dataOffset = unpadded + padding
        let flags = data.isEmpty ? Self.utf8Flag : Self.utf8Flag | Self.descriptorFlag
        let crc = CRC32.checksum(data)

        var header: [UInt8] = []
        header.reserveCapacity(CentralDirectory.localFixedSize + nameBytes.count + 4 + padding)
        header.appendLE(CentralDirectory.localSignature)
        header.appendLE(UInt16(0))           // version needed (miniz: 0 for stored)
        header.appendLE(flags)
        header.appendLE(UInt16(0))           // method: stored
        header.appendLE(UInt32(0))           // time, date
        header.appendLE(UInt32(0))           // CRC-32: in the data descriptor
        header.appendLE(UInt32(0))           // compressed size: likewise
        header.appendLE(UInt32(0))           // uncompressed size: likewise
        header.appendLE(UInt16(nameBytes.count))
        header.appendLE(UInt16(4 + padding))
        header += nameBytes
        header.appendLE(Self.paddingFieldID)
        header.appendLE(UInt16(padding))
        header += repeatElement(UInt8(ascii: "Z"), count: padding)
        try header.withUnsafeBytes { try emit($0) }

        var end = dataOffset
        if !data.isEmpty {
            try emit(data)
            var descriptor: [UInt8] = []
            descriptor.reserveCapacity(16)
            descriptor.appendLE(Self.dataDescriptorSignatureValue)
            descriptor.appendLE(crc)
            descriptor.appendLE(UInt32(data.count))
            descriptor.appendLE(UInt32(data.count))
            try descriptor.withUnsafeBytes { try emit($0) }
            end += data.count + descriptor.count
        }
        let entry = Entry(name: name, size: data.count, crc32: crc, localHeaderOffset: offset, dataOffset: dataOffset)
        entries.append(entry)
        names.insert(name)
        offset = end
        return entry
    }

    /// Writes the central directory and the end records.
    /// - Throws: `ZipWriteError.needsZip64` when the directory's offset or size, or the entry
    ///   count, needs more than the classic records hold; `.finished` when called twice;
    ///   whatever `emit` throws.
    public mutating func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !isFinished else { throw ZipWriteError.finished }
        guard entries.count < Int(UInt16.max) else {
            throw ZipWriteError.needsZip64(entry: nil, detail: "\(entries.count) entries")
        }
        let directoryOffset = offset
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + CentralDirectory.centralFixedSize + $1.name.utf8.count } + 98)
        for e in entries {
            out.appendLE(CentralDirectory.centralSignature)
            out.appendLE(UInt16(0))          // version made by
            out.appendLE(UInt16(0))          // version needed
            out.appendLE(e.size == 0 ? Self.utf8Flag : Self.utf8Flag | Self.descriptorFlag)
            out.appendLE(UInt16(0))          // method: stored
            out.appendLE(UInt32(0))          // time, date
            out.appendLE(e.crc32)
            out.appendLE(UInt32(e.size))     // compressed
            out.appendLE(UInt32(e.size))     // uncompressed
            out.appendLE(UInt16(e.name.utf8.count))
            out.appendLE(UInt16(0))          // extra field length
            out.appendLE(UInt16(0))          // comment length
            out.appendLE(UInt16(0))          // disk number
            out.appendLE(UInt16(0))          // internal attributes
            out.appendLE(UInt32(0))          // external attributes
            out.appendLE(UInt32(e.localHeaderOffset))
            out += Array(e.name.utf8)
        }
        let directorySize = out.count
        guard directoryOffset < Self.zip64Threshold, directorySize < Self.zip64Threshold else {
            throw ZipWriteError.needsZip64(entry: nil, detail: "central directory of \(directorySize) bytes at offset \(directoryOffset)")
        }
        let count = UInt64(entries.count)
        // ZIP64 end of central directory record (APPNOTE 4.3.14): 44 bytes follow its size field.
        let zip64RecordOffset = directoryOffset + directorySize
        out.appendLE(CentralDirectory.eocd64Signature)
        out.appendLE(UInt64(44))
        out.appendLE(UInt16(0x031e))         // made by: Unix, 3.0 (what miniz writes)
        out.appendLE(UInt16(45))             // needed: 4.5, ZIP64
        out.appendLE(UInt32(0))              // this disk
        out.appendLE(UInt32(0))              // directory's disk
        out.appendLE(count)                  // entries on this disk
        out.appendLE(count)                  // entries in all
        out.appendLE(UInt64(directorySize))
        out.appendLE(UInt64(directoryOffset))
        // ZIP64 locator (4.3.15).
        out.appendLE(CentralDirectory.eocd64LocatorSignature)
        out.appendLE(UInt32(0))
        out.appendLE(UInt64(zip64RecordOffset))
        out.appendLE(UInt32(1))              // disks in all
        // Classic end record (4.3.16).
        out.appendLE(CentralDirectory.eocdSignature)
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(entries.count))
        out.appendLE(UInt16(entries.count))
        out.appendLE(UInt32(directorySize))
        out.appendLE(UInt32(directoryOffset))
        out.appendLE(UInt16(0))              // comment length
        try out.withUnsafeBytes { try emit($0) }
        offset += out.count
        isFinished = true
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` little-endian.
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

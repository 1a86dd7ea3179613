import EffNet

/// Locating and parsing the end-of-central-directory records and the central directory.
/// Layouts: APPNOTE.TXT 4.3.7 (local header), 4.3.12 (central header), 4.3.14-16 (ZIP64 and
/// classic end records), 4.5.3 (ZIP64 extra field).
enum CentralDirectory {
    static let eocdSignature: UInt32 = 0x0605_4b50
    static let eocd64LocatorSignature: UInt32 = 0x0706_4b50
    static let eocd64Signature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let localSignature: UInt32 = 0x0403_4b50
    static let eocdSize = 22
    static let centralFixedSize = 46
    static let localFixedSize = 30

    struct Location {
        var entryCount: Int
        var offset: Int
        var size: Int
        var isZip64: Bool
        var comment: String
    }

    /// Finds the end record by scanning backwards from the end of the file, at most 22 + 65,535
    /// bytes (the record plus the largest comment it can declare).
    static func locate(in file: MappedFile) throws -> Location {
        let b = file.bytes
        let path = file.path
        guard b.count >= eocdSize else { throw ZipError.endOfCentralDirectoryNotFound(path: path) }
        let lowest = max(0, b.count - eocdSize - 0xffff)
        var at = b.count - eocdSize
        var found: Int?
        while at >= lowest {
            if b[at] == 0x50, b[at + 1] == 0x4b, b[at + 2] == 0x05, b[at + 3] == 0x06 {
                // The comment it declares must fit in what follows it.
                let commentLength = Int(b.loadUnaligned(fromByteOffset: at + 20, as: UInt16.self).littleEndian)
                if at + eocdSize + commentLength <= b.count { found = at; break }
            }
            at -= 1
        }
        guard let eocd = found else { throw ZipError.endOfCentralDirectoryNotFound(path: path) }

        var r = ByteReader(b)
        try r.seek(to: eocd + 4)
        let disk = try r.readInteger(as: UInt16.self)
        let cdDisk = try r.readInteger(as: UInt16.self)
        let entriesOnDisk = try r.readInteger(as: UInt16.self)
        let totalEntries = try r.readInteger(as: UInt16.self)
        let cdSize = try r.readInteger(as: UInt32.self)
        let cdOffset = try r.readInteger(as: UInt32.self)
        let commentLength = Int(try r.readInteger(as: UInt16.self))
        let comment = try r.readString(commentLength)

        var location = Location(entryCount: Int(totalEntries), offset: Int(cdOffset), size: Int(cdSize),
                                isZip64: false, comment: comment)
        var directoryEnd = eocd
        // A ZIP64 locator sits immediately before the classic record when present.
        if eocd >= 20, b.loadUnaligned(fromByteOffset: eocd - 20, as: UInt32.self).littleEndian == eocd64LocatorSignature {
            var l = ByteReader(b)
            try l.seek(to: eocd - 16)
            let locatorDisk = try l.readInteger(as: UInt32.self)
            let recordOffset64 = try l.readInteger(as: UInt64.self)
            let diskCount = try l.readInteger(as: UInt32.self)
            guard locatorDisk == 0, diskCount <= 1 else { throw ZipError.multiDisk(path: path) }
            // The 56-byte ZIP64 record must end before its 20-byte locator.
            guard eocd >= 76, recordOffset64 <= UInt64(eocd - 76) else {
                throw ZipError.invalid(path: path, entry: nil, offset: eocd - 20,
                                       detail: "ZIP64 end record offset \(recordOffset64) is not before its locator")
            }
            let recordOffset = Int(recordOffset64)
            var z = ByteReader(b)
            try z.seek(to: recordOffset)
            let sig = try z.readInteger(as: UInt32.self)
            guard sig == eocd64Signature else {
                throw ZipError.badSignature(path: path, structure: "ZIP64 end of central directory", offset: recordOffset, found: sig)
            }
            _ = try z.readInteger(as: UInt64.self) // record size; the fields we need are fixed
            _ = try z.readInteger(as: UInt16.self) // version made by
            _ = try z.readInteger(as: UInt16.self) // version needed
            let disk64 = try z.readInteger(as: UInt32.self)
            let cdDisk64 = try z.readInteger(as: UInt32.self)
            let onDisk64 = try z.readInteger(as: UInt64.self)
            let total64 = try z.readInteger(as: UInt64.self)
            let size64 = try z.readInteger(as: UInt64.self)
            let offset64 = try z.readInteger(as: UInt64.self)
            guard disk64 == 0, cdDisk64 == 0, onDisk64 == total64 else { throw ZipError.multiDisk(path: path) }
            guard total64 <= UInt64(b.count), size64 <= UInt64(b.count), offset64 <= UInt64(b.count) else {
                throw ZipError.invalid(path: path, entry: nil, offset: recordOffset,
                                       detail: "ZIP64 end record declares \(total64) entries, \(size64) directory bytes at offset \(offset64) in a \(b.count)-byte file")
            }
            location.entryCount = Int(total64)
            location.size = Int(size64)
            location.offset = Int(offset64)
            location.isZip64 = true
            directoryEnd = recordOffset
        } else {
            guard disk == 0, cdDisk == 0, entriesOnDisk == totalEntries else { throw ZipError.multiDisk(path: path) }
        }
        guard let end = CheckedSize.add(location.offset, location.size), end <= directoryEnd else {
            throw ZipError.invalid(path: path, entry: nil, offset: location.offset,
                                   detail: "central directory of \(location.size) bytes at offset \(location.offset) overlaps the end record at \(directoryEnd)")
        }
        // Each entry needs at least 46 bytes: a count the directory cannot hold is a lie.
        guard location.entryCount <= location.size / centralFixedSize else {
            throw ZipError.invalid(path: path, entry: nil, offset: location.offset,
                                   detail: "\(location.entryCount) entries cannot fit in a \(location.size)-byte central directory")
        }
        return location
    }

    /// Parses `location.entryCount` central headers and each entry's local header.
    static func entries(of location: Location, in file: MappedFile) throws -> [ZipEntry] {
        let path = file.path
        let directory = UnsafeRawBufferPointer(rebasing: file.bytes[location.offset ..< location.offset + location.size])
        var r = ByteReader(directory, baseOffset: location.offset)
        var result: [ZipEntry] = []
        result.reserveCapacity(location.entryCount)
        for _ in 0 ..< location.entryCount {
            let headerOffset = r.offset
            guard let h = HeaderFields(directory, at: r.index, size: centralFixedSize) else {
                throw ZipError.truncated(path: path, structure: "central directory header", offset: headerOffset)
            }
            let sig = h.u32(0)
            guard sig == centralSignature else {
                throw ZipError.badSignature(path: path, structure: "central directory header", offset: headerOffset, found: sig)
            }
            let flags = h.u16(8)
            let method = h.u16(10)
            let crc = h.u32(16)
            var compressed = UInt64(h.u32(20))
            var uncompressed = UInt64(h.u32(24))
            let nameLength = Int(h.u16(28))
            let extraLength = Int(h.u16(30))
            let commentLength = Int(h.u16(32))
            var diskStart = UInt32(h.u16(34))
            var localOffset = UInt64(h.u32(42))
            try r.skip(centralFixedSize)
            guard r.remaining >= nameLength + extraLength + commentLength else {
                throw ZipError.truncated(path: path, structure: "central directory header", offset: headerOffset)
            }
            let nameBytes = try r.readBytes(nameLength)
            let name = String(decoding: nameBytes, as: UTF8.self)
            let extraStart = r.offset
            var extra = ByteReader(try r.readBytes(extraLength), baseOffset: extraStart)
            try r.skip(commentLength)

            // ZIP64 extended information: only the fields whose classic value is saturated are
            // present, in this order.
            let needs64 = compressed == 0xffff_ffff || uncompressed == 0xffff_ffff
                || localOffset == 0xffff_ffff || diskStart == 0xffff
            if needs64 {
                var found = false
                while extra.remaining >= 4 {
                    let id = try extra.readInteger(as: UInt16.self)
                    let size = Int(try extra.readInteger(as: UInt16.self))
                    guard extra.remaining >= size else { break }
                    let fieldStart = extra.offset
                    var field = ByteReader(try extra.readBytes(size), baseOffset: fieldStart)
                    guard id == 0x0001 else { continue }
                    found = true
                    do {
                        if uncompressed == 0xffff_ffff { uncompressed = try field.readInteger(as: UInt64.self) }
                        if compressed == 0xffff_ffff { compressed = try field.readInteger(as: UInt64.self) }
                        if localOffset == 0xffff_ffff { localOffset = try field.readInteger(as: UInt64.self) }
                        if diskStart == 0xffff { diskStart = try field.readInteger(as: UInt32.self) }
                    } catch {
                        throw ZipError.invalid(path: path, entry: name, offset: fieldStart,
                                               detail: "ZIP64 extra field of \(size) bytes is too short for the sizes it must hold")
                    }
                    break
                }
                guard found else {
                    throw ZipError.invalid(path: path, entry: name, offset: headerOffset,
                                           detail: "saturated sizes or offset but no ZIP64 extra field")
                }
            }
            guard diskStart == 0 else { throw ZipError.multiDisk(path: path) }
            let fileSize = UInt64(file.count)
            guard compressed <= fileSize, localOffset <= fileSize, uncompressed <= UInt64(Int.max) else {
                throw ZipError.invalid(path: path, entry: name, offset: headerOffset,
                                       detail: "declares \(compressed) compressed bytes at local offset \(localOffset) in a \(fileSize)-byte file")
            }
            let entryMethod = ZipEntry.Method(method)
            if entryMethod == .stored, compressed != uncompressed {
                throw ZipError.invalid(path: path, entry: name, offset: headerOffset,
                                       detail: "stored entry declares \(compressed) compressed but \(uncompressed) uncompressed bytes")
            }
            let dataOffset = try localDataOffset(file: file, entry: name, nameBytes: nameBytes,
                                                 method: method, at: Int(localOffset))
            guard let dataEnd = CheckedSize.add(dataOffset, Int(compressed)), dataEnd <= file.count else {
                throw ZipError.entryOutOfBounds(path: path, entry: name, offset: dataOffset,
                                                size: Int(compressed), fileSize: file.count)
            }
            result.append(ZipEntry(name: name, method: entryMethod, flags: flags,
                                   compressedSize: Int(compressed), uncompressedSize: Int(uncompressed),
                                   crc32: crc, localHeaderOffset: Int(localOffset), dataOffset: dataOffset))
        }
        return result
    }

    /// Reads the local header at `offset`, checks it against the central one and returns where the
    /// data starts. The local name and extra lengths decide this, not the central ones.
    static func localDataOffset(file: MappedFile, entry: String, nameBytes: UnsafeRawBufferPointer,
                                method: UInt16, at offset: Int) throws -> Int {
        let path = file.path
        guard let h = HeaderFields(file.bytes, at: offset, size: localFixedSize) else {
            throw ZipError.truncated(path: path, structure: "local header of '\(entry)'", offset: offset)
        }
        let sig = h.u32(0)
        guard sig == localSignature else {
            throw ZipError.badSignature(path: path, structure: "local header of '\(entry)'", offset: offset, found: sig)
        }
        let localMethod = h.u16(8)
        // Fields 14-25 (crc, sizes) may be zero when a data descriptor follows: not used.
        let nameLength = Int(h.u16(26))
        let extraLength = Int(h.u16(28))
        var r = ByteReader(file.bytes)
        try r.seek(to: offset + localFixedSize)
        guard localMethod == method else {
            throw ZipError.localHeaderMismatch(path: path, entry: entry, offset: offset,
                                               detail: "method \(localMethod), central directory says \(method)")
        }
        guard r.remaining >= nameLength + extraLength else {
            throw ZipError.truncated(path: path, structure: "local header of '\(entry)'", offset: offset)
        }
        let localName = try r.readBytes(nameLength)
        guard localName.elementsEqual(nameBytes) else {
            throw ZipError.localHeaderMismatch(path: path, entry: entry, offset: offset,
                                               detail: "name '\(String(decoding: localName, as: UTF8.self))'")
        }
        try r.skip(extraLength)
        return r.index
    }

    /// Entries may not share bytes: each entry's local header and data, from its header's
    /// offset to the end of its compressed data, must end before the next one starts and before
    /// the central directory. One pass over the entries sorted by offset. (Two central entries
    /// pointing into one data range are the "overlapping" zip bomb: a small file whose entries
    /// all inflate the same kernel.)
    /// - Throws: `ZipError.overlappingEntries` naming both entries.
    static func checkNoOverlap(_ entries: [ZipEntry], directoryOffset: Int, path: String) throws {
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        var previous: ZipEntry?
        for i in order {
            let e = entries[i]
            if let p = previous, e.localHeaderOffset < p.dataOffset + p.compressedSize {
                throw ZipError.overlappingEntries(path: path, first: p.name, second: e.name, offset: e.localHeaderOffset)
            }
            previous = e
        }
        if let last = previous, last.dataOffset + last.compressedSize > directoryOffset {
            throw ZipError.overlappingEntries(path: path, first: last.name, second: "central directory", offset: directoryOffset)
        }
    }
}

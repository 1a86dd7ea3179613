import CZlib
import EffNet

extension ZipArchive {
    /// The entry's uncompressed bytes.
    ///
    /// STORED entries come back as a view into the mapped file (no copy; the storage keeps the map
    /// alive). DEFLATED entries are inflated into a buffer of exactly the declared size; the
    /// stream must end exactly there and consume exactly the declared compressed bytes.
    ///
    /// - Parameters:
    ///   - verifyCRC: check the CRC-32 against the central directory. For STORED entries this
    ///     reads every byte once (about 30 ms per 100 MB here); pass false to skip it when the
    ///     caller checks integrity another way. Skipped when the archive records no CRC-32s
    ///     (`recordsCRC32`).
    ///   - alreadyVerified: the caller checks this entry's CRC itself (`verifyStoredCRCs`, before
    ///     or alongside using the bytes): the storage is marked with it (`ByteStorage.crc32`) so
    ///     writers need not recompute it.
    /// - Throws: `ZipError.encrypted`, `.unsupportedMethod`, `.sizeLimitExceeded`,
    ///   `.inflateFailed`, `.sizeMismatch` or `.crcMismatch`, each naming the file and the entry.
    public func data(for entry: ZipEntry, verifyCRC: Bool = true, alreadyVerified: Bool = false) throws -> ByteStorage {
        guard !entry.isEncrypted else { throw ZipError.encrypted(path: path, entry: entry.name) }
        let storage: ByteStorage
        switch entry.method {
        case .stored:
            storage = try file.storage(entry.dataRange)
        case .deflated:
            storage = try inflate(entry)
        case let .other(method):
            throw ZipError.unsupportedMethod(path: path, entry: entry.name, method: method)
        }
        guard recordsCRC32 else { return storage }
        if verifyCRC {
            let actual = CRC32.checksum(storage.bytes)
            guard actual == entry.crc32 else {
                throw ZipError.crcMismatch(path: path, entry: entry.name, expected: entry.crc32, actual: actual)
            }
        }
        return verifyCRC || alreadyVerified ? storage.withCRC32(entry.crc32) : storage
    }

    /// Reads every entry once and checks its CRC-32 (inflating deflated ones).
    /// - Throws: the first `ZipError` met, as `data(for:verifyCRC:)`.
    public func verifyAll() throws {
        for e in entries where !e.isDirectory { _ = try data(for: e, verifyCRC: true) }
    }

    /// Raw inflate (no zlib header) of `entry` into exactly `uncompressedSize` bytes.
    private func inflate(_ entry: ZipEntry) throws -> ByteStorage {
        try checkInflateLimits(entry)
        let declared = entry.uncompressedSize
        let input = UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataRange])
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(declared, 1), alignment: 64)
        do {
            try Self.rawInflate(input, into: output, count: declared, path: path, entry: entry)
        } catch {
            output.deallocate()
            throw error
        }
        return ByteStorage(adopting: output, count: declared)
    }

    /// `limits` against what a deflated entry declares.
    /// - Throws: `ZipError.sizeLimitExceeded`.
    func checkInflateLimits(_ entry: ZipEntry) throws {
        let declared = entry.uncompressedSize
        if declared > limits.maxInflatedSize {
            throw ZipError.sizeLimitExceeded(path: path, entry: entry.name, declared: declared,
                                             limit: limits.maxInflatedSize, reason: "maxInflatedSize")
        }
        let ratioBound = (CheckedSize.multiply(entry.compressedSize, limits.maxCompressionRatio) ?? Int.max)
        let ratioLimit = CheckedSize.add(ratioBound, 1024) ?? Int.max
        if declared > ratioLimit {
            throw ZipError.sizeLimitExceeded(path: path, entry: entry.name, declared: declared, limit: ratioLimit,
                                             reason: "more than \(limits.maxCompressionRatio)x its \(entry.compressedSize) compressed bytes, impossible for deflate")
        }
    }

    /// zlib's counters are 32-bit: feed input and output in chunks of at most 1 GiB.
    private static func rawInflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                   count declared: Int, path: String, entry: ZipEntry) throws {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw ZipError.inflateFailed(path: path, entry: entry.name, offset: entry.dataOffset,
                                         message: "inflateInit2 failed with status \(initStatus)")
        }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 30
        var inPos = 0
        var outPos = 0
        while true {
            let inCount = min(chunk, input.count - inPos)
            let outCount = min(chunk, declared - outPos)
            stream.next_in = inCount > 0
                ? UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: inPos).assumingMemoryBound(to: Bytef.self))
                : nil
            stream.avail_in = uInt(inCount)
            stream.next_out = output.baseAddress!.advanced(by: outPos).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(outCount)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let consumed = inCount - Int(stream.avail_in)
            let produced = outCount - Int(stream.avail_out)
            inPos += consumed
            outPos += produced
            if status == Z_STREAM_END { break }
            if status == Z_OK, consumed + produced > 0 { continue }
            if status == Z_OK || status == Z_BUF_ERROR {
                // No progress possible: either the output is full (the stream holds more than
                // declared) or the input ran out before the stream's end.
                if outPos == declared {
                    throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                                detail: "deflate stream holds more than the declared \(declared) bytes")
                }
                throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                            detail: "deflate stream is truncated: \(outPos) of \(declared) bytes after all \(input.count) compressed bytes")
            }
            let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw ZipError.inflateFailed(path: path, entry: entry.name, offset: entry.dataOffset + inPos, message: message)
        }
        guard outPos == declared else {
            throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                        detail: "deflate stream ends after \(outPos) bytes, \(declared) declared")
        }
        guard inPos == input.count else {
            throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                        detail: "deflate stream ends after \(inPos) of the declared \(input.count) compressed bytes")
        }
    }
}

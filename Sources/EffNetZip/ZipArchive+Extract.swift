import CZlib
import EffNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ZipArchive {
    /// Writes `entry`'s uncompressed bytes to `fd` (from its current position) through a 1 MiB
    /// buffer, checking the declared size and CRC-32: a large entry never sits in memory. Used
    /// for a .keras archive's weights, which libhdf5 then reads from the file.
    /// - Parameter maxSize: largest uncompressed size accepted (checked before any work).
    /// - Throws: `ZipError` as `data(for:)` (`.sizeLimitExceeded` with reason `limitReason` for
    ///   `maxSize`), `FileError.cannotWrite` (`scratchName` named) when writing fails.
    public func extract(_ entry: ZipEntry, to fd: Int32, scratchName: String, maxSize: Int, limitReason: String) throws {
        guard !entry.isEncrypted else { throw ZipError.encrypted(path: path, entry: entry.name) }
        guard entry.uncompressedSize <= maxSize else {
            throw ZipError.sizeLimitExceeded(path: path, entry: entry.name, declared: entry.uncompressedSize,
                                             limit: maxSize, reason: limitReason)
        }
        func put(_ bytes: UnsafeRawBufferPointer) throws {
            var off = 0
            while off < bytes.count {
                let n = systemWrite(fd, bytes.baseAddress! + off, bytes.count - off)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw FileError.cannotWrite(path: scratchName, reason: FileError.reason(errno)) }
                off += n
            }
        }
        var crc: UInt32 = 0
        switch entry.method {
        case .stored:
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataRange])
            crc = CRC32.checksum(bytes)
            try put(bytes)
        case .deflated:
            try checkInflateLimits(entry)
            crc = try inflateStreaming(entry, emit: put)
        case let .other(method):
            throw ZipError.unsupportedMethod(path: path, entry: entry.name, method: method)
        }
        if recordsCRC32, crc != entry.crc32 {
            throw ZipError.crcMismatch(path: path, entry: entry.name, expected: entry.crc32, actual: crc)
        }
    }

    /// Raw inflate of `entry`, handing out at most 1 MiB at a time. Returns the CRC-32.
    private func inflateStreaming(_ entry: ZipEntry, emit: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt32 {
        let input = UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataRange])
        let declared = entry.uncompressedSize
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw ZipError.inflateFailed(path: path, entry: entry.name, offset: entry.dataOffset,
                                         message: "inflateInit2 failed with status \(initStatus)")
        }
        defer { inflateEnd(&stream) }
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        var inPos = 0, outPos = 0
        var crc: UInt32 = 0
        while true {
            let inCount = min(1 << 30, input.count - inPos)
            stream.next_in = inCount > 0
                ? UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: inPos).assumingMemoryBound(to: Bytef.self))
                : nil
            stream.avail_in = uInt(inCount)
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(bufferSize)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let consumed = inCount - Int(stream.avail_in)
            let produced = bufferSize - Int(stream.avail_out)
            inPos += consumed
            if produced > 0 {
                guard outPos + produced <= declared else {
                    throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                                detail: "deflate stream holds more than the declared \(declared) bytes")
                }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0 ..< produced])
                crc = CRC32.checksum(chunk, seed: crc)
                try emit(chunk)
                outPos += produced
            }
            if status == Z_STREAM_END { break }
            if status == Z_OK, consumed + produced > 0 { continue }
            if status == Z_OK || status == Z_BUF_ERROR {
                throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                            detail: "deflate stream is truncated: \(outPos) of \(declared) bytes after all \(input.count) compressed bytes")
            }
            let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw ZipError.inflateFailed(path: path, entry: entry.name, offset: entry.dataOffset + inPos, message: message)
        }
        guard outPos == declared else {
            throw ZipError.sizeMismatch(path: path, entry: entry.name, detail: "deflate stream ends after \(outPos) bytes, \(declared) declared")
        }
        guard inPos == input.count else {
            throw ZipError.sizeMismatch(path: path, entry: entry.name,
                                        detail: "deflate stream ends after \(inPos) of the declared \(input.count) compressed bytes")
        }
        return crc
    }
}

@inline(__always)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

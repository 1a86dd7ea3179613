import CZlib
import Dispatch
import EffNet

extension ZipArchive {
    /// Bytes of one unit of CRC work: small enough to spread a few large entries over all cores,
    /// large enough that scheduling costs nothing next to the checksum (~4 ms per chunk here).
    public static let crcChunk = 4 << 20

    /// Checks the CRC-32 of many STORED entries at once, spread over all cores: each entry is cut
    /// into 4 MB chunks, the chunks are checksummed concurrently and the partial CRCs are joined
    /// with zlib's `crc32_combine`. Reading a checkpoint's storages this way costs about
    /// 1/cores of a sequential pass. Deflated entries are skipped here (inflating them in
    /// `data(for:)` checks their CRC anyway).
    /// Does nothing when the archive records no CRC-32s (`recordsCRC32`).
    /// - Parameters:
    ///   - chunkSize: bytes per unit of work (tests use small ones).
    ///   - parallel: false keeps the work on the calling thread, for a check that runs beside
    ///     other work (the converter's writer) and should not take its core.
    /// - Throws: `ZipError.crcMismatch` naming the first entry (in the given order) that fails.
    public func verifyStoredCRCs(_ entries: [ZipEntry], chunkSize: Int = crcChunk, parallel: Bool = true) throws {
        guard recordsCRC32 else { return }
        let chunkSize = max(1, chunkSize)
        let stored = entries.filter { $0.method == .stored && $0.compressedSize > 0 }
        var chunks: [(entry: Int, start: Int, count: Int)] = []
        for (i, e) in stored.enumerated() {
            var offset = 0
            while offset < e.compressedSize {
                let n = min(chunkSize, e.compressedSize - offset)
                chunks.append((i, offset, n))
                offset += n
            }
        }
        guard !chunks.isEmpty else { return }
        let results = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: chunks.count)
        defer { results.deallocate() }
        let bytes = file.bytes
        // Each iteration writes its own slot of `results`; Dispatch cannot see that.
        nonisolated(unsafe) let out = results
        nonisolated(unsafe) let work = { (k: Int) in
            let c = chunks[k]
            let start = stored[c.entry].dataOffset + c.start
            out[k] = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[start ..< start + c.count]))
        }
        if chunks.count == 1 || !parallel {
            for k in chunks.indices { work(k) }
        } else {
            DispatchQueue.concurrentPerform(iterations: chunks.count) { work($0) }
        }
        var k = 0
        for (i, e) in stored.enumerated() {
            var crc = uLong(results[k])
            k += 1
            while k < chunks.count, chunks[k].entry == i {
                crc = crc32_combine(crc, uLong(results[k]), off_t(chunks[k].count))
                k += 1
            }
            let actual = UInt32(truncatingIfNeeded: crc)
            guard actual == e.crc32 else {
                throw ZipError.crcMismatch(path: path, entry: e.name, expected: e.crc32, actual: actual)
            }
        }
    }
}

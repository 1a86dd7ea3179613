/// Bytes that a tensor view points into: a slice of a mapped file, or memory this object owns.
/// `owner` keeps the underlying memory alive for as long as any view exists.
///
/// `bytes` is valid only while this object is alive: keep the `ByteStorage` (or the `RawTensor`
/// holding it), not just the pointer, for as long as you read through it.
public final class ByteStorage: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    /// The CRC-32 of all of `bytes` as its container declares it (a zip entry's), when the reader
    /// has checked it or holds a pending check that must pass before anything built from these
    /// bytes is committed (`TorchCheckpoint.pendingStorageCheck`); else nil. Writers store it
    /// instead of reading the bytes a second time (`EffwWriter.Entry.crc32`).
    public let crc32: UInt32?
    private let owner: AnyObject?
    private let owned: UnsafeMutableRawBufferPointer?

    public init(bytes: UnsafeRawBufferPointer, owner: AnyObject, crc32: UInt32? = nil) {
        self.bytes = bytes
        self.owner = owner
        self.owned = nil
        self.crc32 = crc32
    }

    /// The same bytes, marked with their container's CRC-32 (keeps this storage alive).
    public func withCRC32(_ crc32: UInt32) -> ByteStorage {
        ByteStorage(bytes: bytes, owner: self, crc32: crc32)
    }

    /// Copies `source` into memory owned by this storage (used for inflated or decoded data).
    public init(copying source: UnsafeRawBufferPointer) {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
        if source.count > 0 { m.copyMemory(from: source) }
        owned = m
        owner = nil
        crc32 = nil
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(m)[0 ..< source.count])
    }

    /// Takes ownership of freshly allocated memory (allocated with `allocate(byteCount:alignment:)`).
    public init(adopting memory: UnsafeMutableRawBufferPointer, count: Int) {
        owned = memory
        owner = nil
        crc32 = nil
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(memory)[0 ..< count])
    }

    public convenience init(_ array: [UInt8]) {
        // The array's buffer is valid only inside withUnsafeBytes (a temporary array's pointer
        // escaped from it crashed): copy there.
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 64)
        array.withUnsafeBytes { if $0.count > 0 { m.copyMemory(from: $0) } }
        self.init(adopting: m, count: array.count)
    }

    deinit { owned?.deallocate() }
}

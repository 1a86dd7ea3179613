import Foundation

/// The parameters of an `EfficientNet` in layout slot order: arrays, or, for a model loaded from
/// an .effw file, the file's mapped bytes, copied into arrays only when something asks for them
/// (`weights`, `parameters`, the reference kernels, a writer). The fast path never does: its
/// plan is folded and packed straight from the map at load (`EfficientNet(contentsOf:)`), which
/// saves B7 a 267 MB copy into fresh memory.
///
/// `version` rises with every replacement, so a plan knows when it is stale.
final class WeightStore: @unchecked Sendable {
    /// An .effw file's float32 tensors, one per slot, already checked (CRC-32, finite values).
    struct Mapped {
        let file: EffwFile
        /// Slot i's entry index in `file.entries`.
        let entries: [Int]
        let shapes: [[Int]]
        /// The CRC-32 each entry was checked against at load, by entry index.
        let crc32: [UInt32]
    }

    private let lock = NSLock()
    private var stored: [Tensor]?
    private var mapped: Mapped?
    private var currentVersion = 0

    init(_ tensors: [Tensor]) { stored = tensors }

    init(mapped: Mapped) { self.mapped = mapped }

    var version: Int { lock.withLock { currentVersion } }

    /// The parameters as tensors (copied from the map on first use).
    var tensors: [Tensor] {
        lock.withLock { materialized() }
    }

    /// Replaces every parameter.
    func replace(_ tensors: [Tensor]) {
        lock.withLock {
            stored = tensors
            mapped = nil
            currentVersion += 1
        }
    }

    /// The parameters' arrays and the version they belong to, taken together.
    func arrays() -> ([[Float]], Int) {
        lock.withLock { (materialized().map(\.scalars), currentVersion) }
    }

    private func materialized() -> [Tensor] {
        if let stored { return stored }
        let m = mapped!
        let tensors = zip(m.entries, m.shapes).map { entry, shape -> Tensor in
            let values = m.file.floats(entry)!
            // The map is read again long after the load checked it: a file written over in
            // place since then must not turn into different weights unnoticed.
            let crc = CRC32.checksum(UnsafeRawBufferPointer(values))
            precondition(crc == m.crc32[entry], "\(m.file.path): tensor '\(m.file.entries[entry].name)' changed on disk after the model was loaded")
            return Tensor(shape: shape, scalars: Array(values))
        }
        stored = tensors
        mapped = nil
        return tensors
    }
}

import CHDF5
import EffNet

/// An HDF5 file opened read-only, from a path or from bytes in memory.
///
/// Groups and datasets keep their file alive, so objects may outlive the variable holding the
/// file; the file closes when the last of them goes away.
public final class HDF5File: @unchecked Sendable {
    /// The name used in error messages (the path, or "archive.keras!model.weights.h5").
    public let name: String
    /// Bytes the file occupies (the file's size, or the image's): the base of the size limits.
    public let byteCount: Int
    let id: hid_t
    /// Keeps an in-memory image alive while libhdf5 reads from it without copying.
    private let image: ByteStorage?

    /// Opens the file at `path` read-only with libhdf5's default (sec2) driver.
    /// - Throws: `HDF5Error.library` with libhdf5's reason (not HDF5, truncated, unreadable, ...).
    public convenience init(path: String) throws {
        try self.init(path: path, name: path)
    }

    /// Opens the file at `path`, naming it `name` in errors (a .keras archive's weights, inflated
    /// into a `ScratchFile`, are opened through /proc/self/fd/N but named "archive.keras!model.weights.h5").
    public init(path: String, name: String) throws {
        self.name = name
        image = nil
        let path = path, display = name
        let fapl = try HDF5Library.call("H5Pcreate(file access)", file: display, object: "/") {
            effnet_H5Pcreate(effnet_h5p_file_access())
        }
        defer { HDF5Library.quietly { _ = effnet_H5Pclose(fapl) } }
        // Read-only access needs no lock; locking fails on some network file systems.
        try HDF5Library.call("H5Pset_file_locking", file: display, object: "/") { effnet_H5Pset_file_locking(fapl, false, true) }
        let fid = try HDF5Library.call("H5Fopen", file: display, object: "/") {
            effnet_H5Fopen(path, effnet_h5f_acc_rdonly(), fapl)
        }
        var size: hsize_t = 0
        _ = try? HDF5Library.call("H5Fget_filesize", file: display, object: "/") { effnet_H5Fget_filesize(fid, &size) }
        byteCount = Int(clamping: size)
        id = fid
    }

    /// Opens an HDF5 file image held in memory (a `.keras` archive's `model.weights.h5`).
    ///
    /// Uses hdf5_hl's `H5LTopen_file_image` with DONT_COPY and DONT_RELEASE: libhdf5's core
    /// driver reads `image` in place, read-only, and never frees it; this object keeps the
    /// storage alive until the file is closed. No temporary file is written.
    /// - Throws: `HDF5Error.library` with libhdf5's reason.
    public init(image: ByteStorage, name: String) throws {
        self.name = name
        self.image = image
        byteCount = image.bytes.count
        guard let base = image.bytes.baseAddress, image.bytes.count > 0 else {
            throw HDF5Error.malformed(file: name, object: "/", detail: "empty HDF5 image")
        }
        let flags = effnet_h5lt_file_image_dont_copy() | effnet_h5lt_file_image_dont_release()
        id = try HDF5Library.call("H5LTopen_file_image", file: name, object: "/") {
            // Read-only open: libhdf5 never writes through this pointer.
            effnet_H5LTopen_file_image(UnsafeMutableRawPointer(mutating: base), image.bytes.count, flags)
        }
    }

    deinit {
        let id = self.id
        HDF5Library.quietly { _ = effnet_H5Fclose(id) }
    }

    /// The root group "/".
    /// - Throws: `HDF5Error.library` when libhdf5 cannot open it.
    public func root() throws -> HDF5Group {
        try HDF5Group(file: self, parentID: id, name: "/", path: "/")
    }

    /// Largest number of bytes one dataset may expand to: 1024 times the file (compression
    /// rarely reaches 10x on weights) plus 1 MiB, and never above 4 GiB. A corrupt header
    /// declaring billions of elements is refused before anything is allocated.
    var datasetByteLimit: Int { byteCount >= 1 << 22 ? 1 << 32 : byteCount * 1024 + (1 << 20) }
}

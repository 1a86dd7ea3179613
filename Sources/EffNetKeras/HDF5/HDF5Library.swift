import CHDF5
import Foundation

/// The one checkpoint every libhdf5 call goes through.
///
/// - It serialises calls behind one lock: Debian's libhdf5 is built thread-safe, but other
///   builds (Homebrew's, for one) are not, and the error stack must be read on the same thread,
///   right after the call that failed.
/// - It switches off libhdf5's automatic printing of errors to stderr (`H5Eset_auto2` with NULL).
///   In a thread-safe build that setting is per thread, so it is repeated on every call; it costs
///   nothing next to file I/O.
/// - It turns a negative status or identifier into `HDF5Error.library`, carrying libhdf5's error
///   stack (walked with `H5Ewalk2`), the file and the object path.
/// - It loads libhdf5 (dlopen, once per process) before the first call: the tools do not link it,
///   so a PyTorch or ONNX conversion never pays for loading it and its ~35 dependencies
///   (Sources/CHDF5/include/CHDF5.h). Every libhdf5 function is reached through an `effnet_H5*`
///   wrapper, which returns a failure value rather than calling into an unloaded library.
enum HDF5Library {
    private static let lock = LockBox()

    /// nil once libhdf5 is loaded and usable; otherwise the loader's one-line reason (what it
    /// tried, dlerror's text, a missing symbol or a version mismatch). Computed once, thread-safely
    /// (a static `let`), so every later call costs one load of a constant.
    private static let loadFailure: String? = {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard effnet_hdf5_load(&buffer, buffer.count) != 0 else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "unknown loader failure" : text
    }()

    /// Loads libhdf5 if that has not happened yet.
    /// - Throws: `HDF5Error.libraryUnavailable` naming `file` when it cannot be loaded.
    static func ensureLoaded(file: String) throws {
        if let detail = loadFailure { throw HDF5Error.libraryUnavailable(file: file, detail: detail) }
    }

    /// Runs one libhdf5 call and checks its result, loading libhdf5 first if needed.
    /// - Throws: `HDF5Error.libraryUnavailable` when libhdf5 cannot be loaded, `HDF5Error.library`
    ///   when the call returns a negative value.
    @discardableResult
    static func call<T: BinaryInteger>(_ operation: String, file: String, object: String, _ body: () -> T) throws -> T {
        try ensureLoaded(file: file)
        lock.lock.lock()
        defer { lock.lock.unlock() }
        prepareThread()
        let result = body()
        if result < 0 {
            let stack = errorStack()
            effnet_H5Eclear2(effnet_h5e_default())
            throw HDF5Error.library(file: file, object: object, operation: operation, stack: stack)
        }
        return result
    }

    /// Runs `body` holding the lock, with error printing off, ignoring failures: for closing
    /// handles in `deinit`, where nothing can be reported. Does nothing when libhdf5 is not
    /// loaded (then no handle can exist).
    static func quietly(_ body: () -> Void) {
        guard loadFailure == nil else { return }
        lock.lock.lock()
        defer { lock.lock.unlock() }
        prepareThread()
        body()
        effnet_H5Eclear2(effnet_h5e_default())
    }

    private static func prepareThread() {
        effnet_H5Eset_auto2(effnet_h5e_default(), nil, nil)
        effnet_H5Eclear2(effnet_h5e_default())
    }

    /// libhdf5's error stack on this thread, innermost first: "function: description (major: minor)".
    private static func errorStack() -> [String] {
        final class Collector {
            var entries: [(function: String, description: String, major: hid_t, minor: hid_t)] = []
        }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, errorPointer, context in
            guard let errorPointer, let context else { return 0 }
            let c = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            // Bounded: a corrupt file can make libhdf5 push a long stack; 16 lines say enough.
            guard c.entries.count < 16 else { return 0 }
            let e = errorPointer.pointee
            let function = e.func_name.map { String(cString: $0) } ?? "?"
            let description = e.desc.map { String(cString: $0) } ?? ""
            c.entries.append((function, description, e.maj_num, e.min_num))
            return 0
        }
        let context = Unmanaged.passUnretained(collector).toOpaque()
        _ = effnet_H5Ewalk2(effnet_h5e_default(), H5E_WALK_UPWARD, walker, context)
        return collector.entries.map { entry in
            let major = message(entry.major), minor = message(entry.minor)
            var line = "\(entry.function): \(entry.description)"
            if !major.isEmpty || !minor.isEmpty { line += " (\(major): \(minor))" }
            return line
        }
    }

    private static func message(_ id: hid_t) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var type = H5E_MAJOR
        let n = effnet_H5Eget_msg(id, &type, &buffer, buffer.count)
        guard n > 0 else { return "" }
        return String(decoding: buffer.prefix(min(Int(n), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// NSRecursiveLock is not declared Sendable on every platform; this box is, because the lock is.
private final class LockBox: @unchecked Sendable {
    let lock = NSRecursiveLock()
}

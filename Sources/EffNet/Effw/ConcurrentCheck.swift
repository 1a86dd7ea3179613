import Dispatch
import Foundation

/// A check that starts running on another thread as soon as it is created, for work that reads
/// every byte (CRC-32s, the NaN/Inf scan) and can overlap with other work. The converter starts
/// the source's CRC check right after reading, lets it run while it maps names and writes, and
/// commits the output only after `wait()` returns (see `EffwWriter.write(..., alongside:)`).
///
/// All checks share one serial background thread: started together they run one after the
/// other. On a two-core machine the writer keeps a core to itself instead of three threads
/// sharing two (measured: a second check thread slowed mapping and writing more than it saved).
/// So a check must never wait for another `ConcurrentCheck` (it would wait forever), and
/// conversions running at the same time take turns for their checks.
public final class ConcurrentCheck: @unchecked Sendable {
    private static let queue = DispatchQueue(label: "effnet.concurrent-check", qos: .userInitiated)

    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var failure: Error?

    public init(_ check: @escaping @Sendable () throws -> Void) {
        Self.queue.async { [self] in
            var error: Error?
            do { try check() } catch let e { error = e }
            lock.lock(); failure = error; lock.unlock()
            done.signal()
        }
    }

    /// True once the check has finished with an error (lets a writer stop early).
    public var hasFailed: Bool {
        lock.lock(); defer { lock.unlock() }
        return failure != nil
    }

    /// Waits for the check; rethrows its error. Safe to call more than once.
    public func wait() throws {
        done.wait()
        done.signal()  // later waits return at once
        lock.lock(); let e = failure; lock.unlock()
        if let e { throw e }
    }

    /// Waits for the check and returns its error, if any.
    public func error() -> Error? {
        do { try wait(); return nil } catch { return error }
    }
}

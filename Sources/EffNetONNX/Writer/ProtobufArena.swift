#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns every C allocation of one protobuf-c message tree built for packing: messages, strings,
/// pointer arrays and tensor bytes come from here and are all freed when the arena goes away, so
/// the tree never outlives the `serializedBytes()` call that builds it (and nothing leaks when
/// building stops half-way with an error).
final class ProtobufArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    /// Set when an allocation failed; the caller turns it into an error.
    private(set) var failed = false

    deinit { for b in blocks { free(b) } }

    /// `count` zeroed bytes (at least one, so that a pointer exists for empty arrays).
    func bytes(_ count: Int) -> UnsafeMutableRawPointer? {
        guard let p = calloc(max(count, 1), 1) else { failed = true; return nil }
        blocks.append(p)
        return p
    }

    /// An array of `count` zeroed `T`.
    func array<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T>? {
        let (size, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: max(count, 1))
        guard !overflow else { failed = true; return nil }
        return bytes(size)?.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A copy of `values`.
    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard let p = array(T.self, count: values.count) else { return nil }
        values.withUnsafeBufferPointer { b in if let base = b.baseAddress { p.initialize(from: base, count: b.count) } }
        return p
    }

    /// A NUL-terminated copy of `s`.
    func string(_ s: String) -> UnsafeMutablePointer<CChar>? {
        let utf8 = Array(s.utf8)
        guard let p = array(CChar.self, count: utf8.count + 1) else { return nil }
        for (i, c) in utf8.enumerated() { p[i] = CChar(bitPattern: c) }
        p[utf8.count] = 0
        return p
    }

    /// One message, set to its defaults by protobuf-c's `init` function.
    func message<T>(_ type: T.Type, _ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T>? {
        guard let p = array(T.self, count: 1) else { return nil }
        initialize(p)
        return p
    }

    /// An array of message pointers (protobuf-c's `T **field`).
    func pointers<T>(_ items: [UnsafeMutablePointer<T>?]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        copy(items)
    }
}

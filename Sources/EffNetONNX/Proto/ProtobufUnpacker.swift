import CProtobufC
import ONNXProto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place where bytes go into protobuf-c. Unpacking runs under a memory budget (a custom
/// allocator that refuses to grow past it), so a small file that declares millions of empty
/// messages cannot exhaust memory; the unpacked tree is always freed before returning.
///
/// protobuf-c's own limits: lengths are 32-bit internally, so input is capped below 2 GiB (which
/// protobuf itself requires); the schema has no recursive message, so nesting depth is fixed.
enum ProtobufUnpacker {
    /// Allocation accounting shared with the C callbacks through `allocator_data`.
    final class Budget {
        let limit: Int
        var used = 0
        var peak = 0
        var exceeded = false
        init(limit: Int) { self.limit = limit }
    }

    /// What unpacking cost: the most protobuf-c held at once, and what was still allocated after
    /// the tree was freed (always 0; tests check it).
    struct Statistics: Sendable, Equatable {
        var peakBytes: Int
        var bytesNotFreed: Int
    }

    /// Each block carries its size in a 16-byte header so `free` can give it back to the budget
    /// (16 keeps the payload as aligned as malloc's).
    private static let header = 16

    private static let allocate: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = { context, size in
        guard let context else { return nil }
        let budget = Unmanaged<Budget>.fromOpaque(context).takeUnretainedValue()
        guard size >= 0, size <= budget.limit - budget.used - ProtobufUnpacker.header else {
            budget.exceeded = true
            return nil
        }
        guard let block = malloc(size + ProtobufUnpacker.header) else {
            budget.exceeded = true
            return nil
        }
        block.storeBytes(of: size, as: Int.self)
        budget.used += size + ProtobufUnpacker.header
        budget.peak = max(budget.peak, budget.used)
        return block + ProtobufUnpacker.header
    }

    private static let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { context, pointer in
        guard let pointer else { return }
        let block = pointer - ProtobufUnpacker.header
        let size = block.load(as: Int.self)
        if let context {
            let budget = Unmanaged<Budget>.fromOpaque(context).takeUnretainedValue()
            budget.used -= size + ProtobufUnpacker.header
        }
        free(block)
    }

    /// Unpacks a ModelProto, hands it to `body`, and frees it whatever `body` does.
    /// - Throws: `ONNXError.tooLarge`, `.memoryBudgetExceeded`, `.malformedProtobuf`; whatever
    ///   `body` throws.
    static func withModel<T>(_ bytes: UnsafeRawBufferPointer, path: String, maxBytes: Int, budget limit: Int,
                             _ body: (UnsafePointer<Onnx__ModelProto>) throws -> T) throws -> (T, Statistics) {
        guard bytes.count <= maxBytes, bytes.count < Int(Int32.max) else {
            throw ONNXError.tooLarge(path: path, size: bytes.count, limit: min(maxBytes, Int(Int32.max) - 1))
        }
        let budget = Budget(limit: limit)
        let context = Unmanaged.passRetained(budget)
        defer { context.release() }
        var allocator = ProtobufCAllocator(alloc: allocate, free: release, allocator_data: context.toOpaque())
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // An empty buffer is a valid (empty) message; protobuf-c needs a non-null pointer for it.
        var empty: UInt8 = 0
        let message: UnsafeMutablePointer<Onnx__ModelProto>? = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            onnx__model_proto__unpack(&allocator, bytes.count, base ?? UnsafePointer(emptyPointer))
        }
        guard let message else {
            if budget.exceeded { throw ONNXError.memoryBudgetExceeded(path: path, budget: limit) }
            throw ONNXError.malformedProtobuf(path: path)
        }
        let result: T
        do {
            result = try body(UnsafePointer(message))
        } catch {
            onnx__model_proto__free_unpacked(message, &allocator)
            throw error
        }
        onnx__model_proto__free_unpacked(message, &allocator)
        return (result, Statistics(peakBytes: budget.peak, bytesNotFreed: budget.used))
    }
}

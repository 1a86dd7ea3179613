/// A fixed-size, zero-initialised, 64-byte aligned float buffer owned by a class, so that the
/// kernels can work on raw pointers (no array bounds checks, no copy-on-write) while the memory's
/// lifetime stays tied to an object. Packed weights and workspaces are made of these.
final class FloatBuffer: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>
    /// How the memory is released: by the arena it came from, as a large mapping, or by deallocate.
    private let origin: Origin

    private enum Origin {
        case heap
        case mapped(bytes: Int)
        case arena(PlanArena)
    }

    /// Large buffers (workspaces) come from `LargeMemory`, the rest from malloc.
    init(count: Int) {
        self.count = count
        (pointer, origin) = Self.allocate(count)
    }

    /// A buffer carved from `arena` (a plan's packed weights), falling back to its own memory.
    init(count: Int, arena: PlanArena?) {
        self.count = count
        if let arena, let p = arena.allocate(max(1, count) * MemoryLayout<Float>.stride) {
            pointer = p.bindMemory(to: Float.self, capacity: max(1, count))  // zeroed by the kernel
            origin = .arena(arena)
        } else {
            (pointer, origin) = Self.allocate(count)
        }
    }

    private static func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, Origin) {
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        if bytes >= LargeMemory.minimumBytes, let p = LargeMemory.allocate(bytes) {
            return (p.bindMemory(to: Float.self, capacity: max(1, count)), .mapped(bytes: bytes))  // zeroed by the kernel
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
        return (pointer, .heap)
    }

    deinit {
        switch origin {
        case .heap: pointer.deallocate()
        case let .mapped(bytes): LargeMemory.free(UnsafeMutableRawPointer(pointer), bytes: bytes)
        case .arena: break  // released with the arena
        }
    }

    subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// A zero-initialised, 64-byte aligned buffer of Doubles (per-channel pooling sums).
final class DoubleBuffer: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Double>

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Double>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Double.self, capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}

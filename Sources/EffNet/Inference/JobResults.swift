/// One result slot per job of a parallel loop: each job writes only its own index, so the
/// slots need no lock (`Parallel.forEach` returns after every job has finished).
final class JobResults<T>: @unchecked Sendable {
    private var slots: [T?]

    init(count: Int) { slots = [T?](repeating: nil, count: count) }

    subscript(i: Int) -> T? {
        get { slots.withUnsafeBufferPointer { $0[i] } }
        set { slots.withUnsafeMutableBufferPointer { $0[i] = newValue } }
    }
}

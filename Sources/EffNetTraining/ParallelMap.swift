import Dispatch

/// `transform` over `indices` on all cores, results in order; the first error (by index) is
/// rethrown. For decoding a batch of images side by side.
func parallelMap<T>(_ indices: Range<Int>, _ transform: (Int) throws -> T) throws -> [T] {
    var results = [Result<T, Error>?](repeating: nil, count: indices.count)
    results.withUnsafeMutableBufferPointer { slots in
        // Each iteration writes its own slot only; Dispatch cannot see that.
        nonisolated(unsafe) let base = slots.baseAddress!
        nonisolated(unsafe) let work = transform
        DispatchQueue.concurrentPerform(iterations: indices.count) { k in
            base[k] = Result { try work(indices.lowerBound + k) }
        }
    }
    return try results.map { try $0!.get() }
}

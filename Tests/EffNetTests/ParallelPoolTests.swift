import CEffNetKernels
import Dispatch
import EffNet
import XCTest

/// The worker pool that splits the fast forward pass's layers (CEffNetKernels' effnet_parallel):
/// every part runs exactly once on a thread below the job's thread count, out-of-range jobs are
/// refused, concurrent callers never deadlock (one gets the pool, the others are refused and
/// split their work some other way). And through the model: a split image gives exactly the
/// floats of one thread, for any thread count, also with callers competing for the pool.
final class ParallelPoolTests: XCTestCase {
    /// What one job records: per part, how often it ran and on which thread.
    private final class Record: @unchecked Sendable {
        let runs: UnsafeMutablePointer<Int>
        let threads: UnsafeMutablePointer<Int>
        init(parts: Int) {
            runs = .allocate(capacity: parts)
            runs.initialize(repeating: 0, count: parts)
            threads = .allocate(capacity: parts)
            threads.initialize(repeating: -1, count: parts)
        }
        deinit { runs.deallocate(); threads.deallocate() }
    }

    private static let task: effnet_task_fn = { context, part, thread in
        let r = Unmanaged<Record>.fromOpaque(context!).takeUnretainedValue()
        r.runs[part] += 1  // each part is its own slot: a second run would show as 2
        r.threads[part] = thread
    }

    /// Runs one job; nil when the pool refused it.
    private static func job(parts: Int, threads: Int) -> Record? {
        let r = Record(parts: max(1, parts))
        let ok = withExtendedLifetime(r) {
            effnet_parallel(parts, threads, Self.task, Unmanaged.passUnretained(r).toOpaque())
        }
        return ok != 0 ? r : nil
    }

    func testEveryPartRunsExactlyOnceOnAThreadOfTheJob() throws {
        for threads in [1, 2, 3, 4, 8] {
            for parts in [1, 2, 3, 5, 8, 13, 32, 64] {
                for _ in 0 ..< 20 {
                    let r = try XCTUnwrap(Self.job(parts: parts, threads: threads), "\(parts) parts, \(threads) threads refused")
                    for p in 0 ..< parts {
                        XCTAssertEqual(r.runs[p], 1, "part \(p) of \(parts), \(threads) threads")
                        XCTAssertTrue((0 ..< min(threads, parts)).contains(r.threads[p]),
                                      "part \(p) ran on thread \(r.threads[p]) of \(threads)")
                    }
                }
            }
        }
    }

    func testOutOfRangeJobsAreRefused() {
        let maxParts = Int(EFFNET_POOL_MAX_PARTS), maxThreads = Int(EFFNET_POOL_MAX_THREADS)
        XCTAssertNil(Self.job(parts: 0, threads: 2))
        XCTAssertNil(Self.job(parts: maxParts + 1, threads: 2))
        XCTAssertNil(Self.job(parts: 4, threads: 0))
        XCTAssertNil(Self.job(parts: 4, threads: maxThreads + 1))
        XCTAssertNotNil(Self.job(parts: maxParts, threads: 2))
    }

    /// Several threads submitting jobs at once: every job either runs completely or is refused
    /// (and then run here, as the fast path falls back to Dispatch), and none hangs.
    func testConcurrentCallersEachGetTheirPartsOnce() {
        let callers = 6, jobsEach = 200
        let ran = UnsafeMutablePointer<Int>.allocate(capacity: callers)
        ran.initialize(repeating: 0, count: callers)
        defer { ran.deallocate() }
        nonisolated(unsafe) let counts = ran  // each caller writes its own slot
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            for j in 0 ..< jobsEach {
                let parts = 1 + (c + j) % 9
                var r = Self.job(parts: parts, threads: 2 + j % 3)
                if r == nil {
                    let serial = Record(parts: parts)
                    for p in 0 ..< parts { serial.runs[p] += 1 }
                    r = serial
                }
                if let r, (0 ..< parts).allSatisfy({ r.runs[$0] == 1 }) { counts[c] += 1 }
            }
        }
        for c in 0 ..< callers { XCTAssertEqual(ran[c], jobsEach, "caller \(c)") }
    }

    // MARK: Through the model

    private func model() throws -> EfficientNet {
        var c = EfficientNetConfig.scaled(name: "pool", width: 0.5, depth: 0.5, numClasses: 7)
        c.headChannels = 96
        let m = try EfficientNet(config: c)
        var rng = PoolTestRng(5)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in m.parameterShapes {
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            var v = (0 ..< shape.reduce(1, *)).map { _ in rng.uniform() * 1.5 / Float(fanIn).squareRoot() }
            if name.hasSuffix("running_var") || name.hasSuffix("bn.weight") { v = v.map { 0.8 + abs($0) } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try m.load(tensors)
        return m
    }

    private func image(seed: UInt64) -> Tensor {
        var rng = PoolTestRng(seed)
        let shape = [1, 3, 104, 88]
        return Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in 2 * rng.uniform() })
    }

    /// Pooling sums are kept per row and added in row order, the SE gate is applied the same way
    /// whatever the split, and fused and unfused blocks compute the same products: so one image
    /// split over any number of threads gives exactly the one-thread floats.
    func testSplitImageGivesTheOneThreadFloatsForAnyThreadCount() throws {
        let m = try model()
        let x = image(seed: 9)
        m.inferenceOptions = InferenceOptions(kernels: .fast, threads: 1)
        let one = try m(x)
        for fuse in [0, 1 << 20, Int.max] {
            for threads in [1, 2, 3, 4, 7] {
                m.inferenceOptions = InferenceOptions(kernels: .fast, threads: threads, fuseBlocksAboveBytes: fuse)
                XCTAssertEqual(try m(x), one, "threads \(threads), fuse above \(fuse)")
            }
        }
    }

    /// Split images on several threads at once: they compete for the pool (the losers split their
    /// layers through Dispatch) and every result is still the one-thread result.
    func testConcurrentSplitImagesMatchOneThread() throws {
        let m = try model()
        let inputs = (0 ..< 6).map { image(seed: 20 + UInt64($0)) }
        m.inferenceOptions = InferenceOptions(kernels: .fast, threads: 1)
        let expected = try inputs.map { try m($0) }
        m.inferenceOptions = InferenceOptions(kernels: .fast, threads: 2)
        let results = UnsafeMutableBufferPointer<Tensor?>.allocate(capacity: inputs.count * 3)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results  // each iteration writes its own slot
        DispatchQueue.concurrentPerform(iterations: slots.count) { i in slots[i] = try? m(inputs[i % inputs.count]) }
        for i in 0 ..< results.count { XCTAssertEqual(results[i], expected[i % inputs.count], "call \(i)") }
    }
}

/// xorshift64*, values uniform in [-1, 1).
private struct PoolTestRng {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func uniform() -> Float {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 23) - 1
    }
}

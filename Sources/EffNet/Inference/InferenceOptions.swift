import Foundation

/// How `EfficientNet.forward(_:observe:)` (and so `try model(input)`) computes.
public struct InferenceOptions: Sendable, Equatable {
    public enum Kernels: String, Sendable {
        /// BN folded, NHWC, SIMD kernels, both cores (the default).
        case fast
        /// `ReferenceKernels`: plain NCHW loops, single-threaded; what the fast kernels are tested
        /// against.
        case reference
    }

    public var kernels: Kernels
    /// Threads the fast kernels use: images of a batch run side by side, and a single image's
    /// large layers are split. Values below 1 count as 1.
    public var threads: Int
    /// A block's expand and depthwise convolutions run fused, row by row, when its expanded
    /// activation (one image; per thread when a single image is split over `threads`) exceeds
    /// this many bytes, so it never leaves the cache; smaller blocks run unfused, which splits
    /// better over threads. A tuning knob: results are the same either way (0 fuses every block
    /// with an expansion).
    public var fuseBlocksAboveBytes: Int

    public init(kernels: Kernels = .fast, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                fuseBlocksAboveBytes: Int = 1 << 20) {
        self.kernels = kernels
        self.threads = threads
        self.fuseBlocksAboveBytes = fuseBlocksAboveBytes
    }
}

extension EfficientNet {
    /// Kernels and thread count for this model's forward passes. Setting it is safe between calls
    /// from any thread; a call in progress keeps the options it started with.
    public var inferenceOptions: InferenceOptions {
        get { inferenceState.options }
        set { inferenceState.options = newValue }
    }
}

/// What the fast path keeps between calls: the options, the plan (folded, packed weights; rebuilt
/// when the model's parameters change) and idle workspaces for the last input size. Guarded by a
/// lock, so one model can serve concurrent calls (each takes its own workspaces).
final class InferenceState: @unchecked Sendable {
    private let lock = NSLock()
    private var currentOptions = InferenceOptions()
    private var plan: InferencePlan?
    private var idle: [Workspace] = []
    /// Idle workspaces kept at most (more are freed on return).
    private let maxIdle = 8

    init() {}

    var options: InferenceOptions {
        get { lock.withLock { currentOptions } }
        set { lock.withLock { currentOptions = newValue } }
    }

    /// The plan for `model`'s current parameters, built on first use and after any change.
    func plan(for model: EfficientNet) -> InferencePlan {
        lock.withLock {
            if let plan, plan.isCurrent(for: model) { return plan }
            let p = InferencePlan(model: model)
            plan = p
            idle.removeAll()
            return p
        }
    }

    /// Makes `plan` (built for the current parameters, e.g. at load) the one to use.
    func install(_ plan: InferencePlan) {
        lock.withLock {
            self.plan = plan
            idle.removeAll()
        }
    }

    /// `count` workspaces for `geometry` able to split a layer `parts` ways, reusing idle ones.
    func takeWorkspaces(_ count: Int, geometry: InferenceGeometry, parts: Int) -> [Workspace] {
        var taken: [Workspace] = lock.withLock {
            idle.removeAll { $0.geometry != geometry }
            var r: [Workspace] = []
            while r.count < count, let i = idle.firstIndex(where: { $0.parts >= parts }) {
                r.append(idle.remove(at: i))
            }
            return r
        }
        while taken.count < count { taken.append(Workspace(geometry: geometry, parts: parts)) }
        return taken
    }

    func returnWorkspaces(_ ws: [Workspace]) {
        lock.withLock {
            idle.append(contentsOf: ws)
            if idle.count > maxIdle { idle.removeFirst(idle.count - maxIdle) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Wall time of the fast forward pass per layer kind, summed over the inferences run while it is
/// on: where the time goes (`effnet-bench profile`, Benchmarks/profile.sh, BENCHMARKS.md). Off
/// by default, when a layer costs one branch. Each kind is timed around the whole layer on the
/// thread that runs the image, its split over threads included; with several images running
/// at once (a batch spread over threads) the kinds' times overlap, so profile one image at a time.
public enum LayerProfile {
    public enum Kind: String, CaseIterable, Sendable {
        case stem = "stem (pad + k x k conv)"
        case expand = "expand 1x1"
        case expandDepthwise = "expand 1x1 + depthwise, row-fused"
        case depthwise = "depthwise k x k"
        case squeezeExcite = "squeeze-excite"
        case project = "project 1x1 (+ SE scale, residual)"
        case fusedConv = "fused k x k conv"
        case fusedWinograd = "fused 3x3 Winograd + project"
        case head = "head 1x1"
        case pool = "global average pool"
        case classifier = "classifier"
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var on = false
    nonisolated(unsafe) private static var nanoseconds = [UInt64](repeating: 0, count: Kind.allCases.count)
    nonisolated(unsafe) private static var calls = [Int](repeating: 0, count: Kind.allCases.count)

    /// Starts or stops collecting; starting clears what was collected.
    public static var enabled: Bool {
        get { lock.withLock { on } }
        set {
            lock.withLock {
                if newValue {
                    nanoseconds = nanoseconds.map { _ in 0 }
                    calls = calls.map { _ in 0 }
                }
                on = newValue
            }
        }
    }

    /// Total milliseconds and layer count per kind since `enabled` was set, in `Kind` order.
    public static func totals() -> [(kind: Kind, milliseconds: Double, layers: Int)] {
        lock.withLock {
            Kind.allCases.enumerated().map { i, k in (k, Double(nanoseconds[i]) / 1e6, calls[i]) }
        }
    }

    @inline(__always)
    static func measure<T>(_ kind: Kind, _ body: () -> T) -> T {
        guard on else { return body() }
        let start = now()
        let result = body()
        let elapsed = now() &- start
        let i = Kind.allCases.firstIndex(of: kind)!
        lock.withLock {
            nanoseconds[i] &+= elapsed
            calls[i] += 1
        }
        return result
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

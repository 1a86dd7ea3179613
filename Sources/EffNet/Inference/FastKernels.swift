import CEffNetKernels

/// Which CPU level's C kernels (Sources/CEffNetKernels) the fast forward pass runs: chosen on
/// first use from what the CPU supports, lowered with EFFNET_KERNELS=avx2|generic.
@_spi(Benchmarks) public enum FastKernels {
    /// "avx512", "avx2" or "generic".
    public static var level: String { String(cString: effnet_kernels_level()) }
}

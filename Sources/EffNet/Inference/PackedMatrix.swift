/// The right-hand matrix B (K x N) of C = A * B, packed for `GemmKernels`: column panels of
/// `panelWidth` (the last one 16 wide when N rounded up to 16 is not a multiple of 32), each panel
/// K rows of its width, contiguous. Columns past N are zero, so padded output channels stay zero.
/// A 1x1 convolution's weight (O, I) is B with K = I, N = O.
struct PackedMatrix: @unchecked Sendable {
    static let panelWidth = 32

    let k: Int
    let n: Int
    /// N rounded up to 16: the row stride of C.
    let np: Int
    let data: FloatBuffer

    /// Packs B[kk, nn] = element(kk, nn) for kk < k, nn < n.
    init(k: Int, n: Int, element: (Int, Int) -> Float) {
        self.k = k
        self.n = n
        np = roundUpToLanes(n)
        data = FloatBuffer(count: k * np)
        for j in 0 ..< panelCount {
            let base = panelOffset(j), w = panelWidth(j), n0 = j * Self.panelWidth
            for kk in 0 ..< k {
                for c in 0 ..< w where n0 + c < n {
                    data.pointer[base + kk * w + c] = element(kk, n0 + c)
                }
            }
        }
    }

    var panelCount: Int { (np + Self.panelWidth - 1) / Self.panelWidth }

    @inline(__always) func panelOffset(_ j: Int) -> Int { j * Self.panelWidth * k }

    @inline(__always) func panelWidth(_ j: Int) -> Int { min(Self.panelWidth, np - j * Self.panelWidth) }

    /// Writes panels `panels` of B with row kk multiplied by scale[kk] to the same places of `out`
    /// (k * np floats), same packing: the squeeze-and-excitation gate folded into the projection
    /// that follows it.
    func writeRowScaled(by scale: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, panels: Range<Int>) {
        for j in panels {
            let base = panelOffset(j), w = panelWidth(j)
            let src = UnsafePointer(data.pointer + base), dst = out + base
            for kk in 0 ..< k {
                let g = Vec(repeating: scale[kk])
                var c = 0
                while c < w {
                    storeVec(loadVec(src + kk * w + c) * g, dst + kk * w + c)
                    c += lanes
                }
            }
        }
    }
}

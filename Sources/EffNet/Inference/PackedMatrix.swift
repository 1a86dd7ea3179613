import CEffNetKernels

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

    /// Packs B[kk, nn] = element(kk, nn) for kk < k, nn < n, into memory from `arena`.
    init(k: Int, n: Int, arena: PlanArena?, element: (Int, Int) -> Float) {
        self.k = k
        self.n = n
        np = roundUpToLanes(n)
        data = FloatBuffer(count: k * np, arena: arena)
        for j in 0 ..< panelCount {
            let base = panelOffset(j), w = panelWidth(j), n0 = j * Self.panelWidth
            for kk in 0 ..< k {
                for c in 0 ..< w where n0 + c < n {
                    data.pointer[base + kk * w + c] = element(kk, n0 + c)
                }
            }
        }
    }

    /// Packs B[kk, nn] = w[nn * k + kk] * scale[nn]: a 1x1 convolution's or a linear layer's
    /// weight (O, I) with its batch norm folded in (no scale: 1). The hot loop of loading a
    /// model: each panel is a transpose of its 32 source rows, by 8 x 8 blocks in registers
    /// (`effnet_pack_panel`, CEffNetKernels, per vector level).
    init(k: Int, n: Int, transposing w: UnsafePointer<Float>, scale: [Float]?, arena: PlanArena?) {
        self.k = k
        self.n = n
        np = roundUpToLanes(n)
        data = FloatBuffer(count: k * np, arena: arena)
        let ones = scale == nil ? [Float](repeating: 1, count: n) : []
        (scale ?? ones).withUnsafeBufferPointer { sc in
            let sc = sc.baseAddress!
            for j in 0 ..< panelCount {
                let n0 = j * Self.panelWidth, pw = panelWidth(j), cols = min(pw, n - n0)
                effnet_pack_panel(w + n0 * k, k, cols, pw, sc + n0, data.pointer + panelOffset(j))
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

/// The buffers one image's forward pass needs, sized by an `InferenceGeometry`, allocated once and
/// reused for every layer and every call with the same input size: two NHWC block input/output
/// buffers (ping-pong; residual blocks update in place), the expanded activation, the depthwise
/// output, the head output, the squeeze-and-excitation scratch and per-row pooling sums, and
/// per-thread scratch rows.
final class Workspace: @unchecked Sendable {
    let geometry: InferenceGeometry
    /// How many threads may split one layer of this workspace (each gets its own scratch).
    let parts: Int
    let stemScratch: FloatBuffer
    /// parts x (output width x k*k*cin): one output row's im2col patches per thread (the stem's
    /// and Fused-MBConv blocks' dense convolutions).
    let patchRows: FloatBuffer
    /// parts x one tile row's Winograd scratch (3x3 stride-1 Fused-MBConv convolutions).
    let winogradRows: FloatBuffer
    let io: [FloatBuffer]
    let expanded: FloatBuffer
    let depthwise: FloatBuffer
    let head: FloatBuffer
    let scaledWeights: FloatBuffer
    let gate: FloatBuffer
    let hidden: FloatBuffer
    /// The SE average pool's sums, one row of channels per depthwise output row (added up in
    /// row order afterwards, so the sums do not depend on how the rows were split); also the
    /// head's pooling scratch.
    let rowPools: DoubleBuffer
    /// parts x maxChannels
    let rowSums: FloatBuffer
    /// parts x 2: per thread, the expanded rows [lo, hi) its ring holds (row-fused MBConv blocks).
    let ringRows: UnsafeMutablePointer<Int>

    init(geometry g: InferenceGeometry, parts: Int) {
        geometry = g
        self.parts = parts
        stemScratch = FloatBuffer(count: g.stemScratchCount)
        patchRows = FloatBuffer(count: parts * g.patchCount)
        winogradRows = FloatBuffer(count: parts * g.winogradCount)
        io = [FloatBuffer(count: g.ioCount), FloatBuffer(count: g.ioCount)]
        expanded = FloatBuffer(count: max(g.expandedCount, parts * g.ringCount))
        depthwise = FloatBuffer(count: g.depthwiseCount)
        head = FloatBuffer(count: g.headCount)
        scaledWeights = FloatBuffer(count: g.scaledWeightsCount)
        gate = FloatBuffer(count: g.maxChannels)
        hidden = FloatBuffer(count: g.maxSqueeze)
        rowPools = DoubleBuffer(count: g.rowPoolCount)
        rowSums = FloatBuffer(count: parts * g.maxChannels)
        ringRows = .allocate(capacity: 2 * parts)
        ringRows.initialize(repeating: 0, count: 2 * parts)
    }

    deinit { ringRows.deallocate() }

    /// Thread `thread`'s ring of expanded rows (row-fused MBConv blocks).
    func ring(_ thread: Int) -> UnsafeMutablePointer<Float> { expanded.pointer + thread * geometry.ringCount }

    func patches(_ thread: Int) -> UnsafeMutablePointer<Float> { patchRows.pointer + thread * geometry.patchCount }

    func winograd(_ thread: Int) -> UnsafeMutablePointer<Float> { winogradRows.pointer + thread * geometry.winogradCount }

    func rowSum(_ thread: Int) -> UnsafeMutablePointer<Float> { rowSums.pointer + thread * geometry.maxChannels }
}

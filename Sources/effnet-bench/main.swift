// effnet-bench: times the Swift forward pass on the benchmark models made by
// Benchmarks/make_models.py; Benchmarks/run.sh runs it beside ONNX Runtime and PyTorch.
//
//   effnet-bench config b0|b4|v2s             the EfficientNetConfig JSON .effw metadata needs
//   effnet-bench run CACHE CASE...            CASE = model:size:batch:threads (e.g. b0:224:1:1);
//                                             one JSON line per case on stdout
//   effnet-bench random CASE...               the same on random weights, no files needed
//   effnet-bench compare CASE...              fast vs reference kernels on random weights
//   effnet-bench load FILE.effw SIZE THREADS  load-to-ready in this (fresh) process: the load,
//                                             the first inference, a warm one; one JSON line
//   options (before the subcommand's arguments): --kernels fast|reference, --min-seconds S,
//   --min-runs N, --gemm own|openblas (1x1 convolutions through OpenBLAS's cblas_sgemm,
//   loaded at run time from libopenblas.so.0, instead of the library's own kernels),
//   --fuse-above BYTES (InferenceOptions.fuseBlocksAboveBytes: which MBConv blocks run their
//   expansion and depthwise convolution row-fused)
@_spi(Benchmarks) import EffNet
import Foundation

struct Options {
    var kernels = InferenceOptions.Kernels.fast
    var gemm = "own"
    var minSeconds = 3.0
    var minRuns = 20
    /// InferenceOptions.fuseBlocksAboveBytes (nil: its default).
    var fuseAbove: Int?

    func inference(threads: Int) -> InferenceOptions {
        var o = InferenceOptions(kernels: kernels, threads: threads)
        if let fuseAbove { o.fuseBlocksAboveBytes = fuseAbove }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(2)
}

func config(_ name: String) -> EfficientNetConfig {
    switch name {
    case "b0": return .b(0)
    case "b4": return .b(4)
    case "b7": return .b(7)
    case "mini": return .seedB0Mini()
    case "lite0": return .lite(0)
    case "v2s": return .v2S()
    default: fail("unknown model \(name) (b0, b4, b7, v2s, mini, lite0)")
    }
}

struct Case {
    var model: String, size: Int, batch: Int, threads: Int
    init(_ s: String) {
        let p = s.split(separator: ":").map(String.init)
        guard p.count == 4, let size = Int(p[1]), let batch = Int(p[2]), let threads = Int(p[3]) else {
            fail("case '\(s)' is not model:size:batch:threads")
        }
        model = p[0]; self.size = size; self.batch = batch; self.threads = threads
    }
}

/// Deterministic pseudo-random values in [-1, 1) (xorshift), so runs are repeatable.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var s = seed | 1
    let n = shape.reduce(1, *)
    var v = [Float](repeating: 0, count: n)
    for i in 0 ..< n {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        v[i] = (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
    return Tensor(shape: shape, scalars: v)
}

func randomModel(_ c: EfficientNetConfig) throws -> EfficientNet {
    let m = try EfficientNet(config: c)
    var tensors: [String: Tensor] = [:]
    for (i, p) in m.parameterShapes.enumerated() {
        let fanIn = p.shape.count > 1 ? p.shape.dropFirst().reduce(1, *) : 1
        var t = randomTensor(p.shape, seed: UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15, scale: 1.7 / Float(fanIn).squareRoot())
        if p.name.hasSuffix("running_var") || p.name.hasSuffix("bn.weight") { t.scalars = t.scalars.map { 1 + abs($0) } }
        tensors[p.name] = t
    }
    try m.load(tensors)
    return m
}

/// CPU time of the whole process in ms (all threads): on a shared machine, what the pass cost
/// even when it waited for a core.
func processCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
}

func median(_ v: [Double]) -> Double {
    let s = v.sorted(), mid = s.count / 2
    return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

func time(_ body: () throws -> Void, _ o: Options) rethrows -> (median: Double, min: Double, cpu: Double, runs: Int) {
    for _ in 0 ..< 3 { try body() }
    var times: [Double] = [], cpu: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while times.count < o.minRuns || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < o.minSeconds {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUTime()
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        cpu.append(processCPUTime() - c0)
        if times.count >= 2000 { break }
    }
    return (median(times), times.min() ?? 0, median(cpu), times.count)
}

func json(_ d: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// Times case `c` and returns its JSON fields; with `peakRSS`, also the process's peak resident
/// memory so far (the load and this case's runs, when nothing else ran before it).
@discardableResult
func bench(_ model: EfficientNet, _ c: Case, _ o: Options, extra: [String: Any] = [:], peakRSS: Bool = false,
           print printing: Bool = true) throws -> [String: Any] {
    model.inferenceOptions = o.inference(threads: c.threads)
    let x = randomTensor([c.batch, 3, c.size, c.size], seed: 99)
    let t = try time({ _ = try model(x) }, o)
    let engine = o.kernels == .reference ? "swift-reference" : o.gemm == "openblas" ? "swift-openblas" : "swift"
    var d: [String: Any] = ["engine": engine, "model": c.model, "size": c.size,
                            "batch": c.batch, "threads": c.threads, "median_ms": t.median, "min_ms": t.min, "cpu_ms": t.cpu, "runs": t.runs,
                            "kernels": FastKernels.level]
    if peakRSS, let kb = peakResidentKB() { d["peak_rss_mb"] = Double(kb) / 1024 }
    d.merge(extra) { a, _ in a }
    if printing {
        print(json(d))
        fflush(nil)
    }
    return d
}

/// The process's peak resident set (VmHWM in /proc/self/status), in KiB; nil off Linux.
func peakResidentKB() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
    }
    return nil
}

/// Runs the model on the input ONNX Runtime saw and compares with its logits.
func check(_ model: EfficientNet, cache: String, name: String) throws -> [String: Any] {
    let inPath = "\(cache)/efficientnet_\(name).check_input.npy", outPath = "\(cache)/efficientnet_\(name).check_output.npy"
    guard FileManager.default.fileExists(atPath: inPath), FileManager.default.fileExists(atPath: outPath) else { return [:] }
    let x = try NPY.readTensor(path: inPath), ref = try NPY.readTensor(path: outPath)
    let y = try model(x)
    let cmp = Comparison(actual: y, reference: ref)
    return ["check_vs_onnxruntime_rel_err": Double(cmp.relativeError), "check_top1": Double(cmp.top1Agreement)]
}

/// Routes the fast path's 1x1 convolutions through OpenBLAS (single-threaded: the fast path
/// splits the work over threads itself). Loaded with dlopen so that nothing else needs OpenBLAS.
func useOpenBLAS() {
    typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>, Int32,
                                      UnsafePointer<Float>, Int32, Float, UnsafeMutablePointer<Float>, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    guard let lib = dlopen("libopenblas.so.0", RTLD_NOW), let sym = dlsym(lib, "cblas_sgemm") else {
        fail("cannot load cblas_sgemm from libopenblas.so.0 (apt-get install libopenblas-dev)")
    }
    if let st = dlsym(lib, "openblas_set_num_threads") { unsafeBitCast(st, to: SetThreads.self)(1) }
    let sgemm = unsafeBitCast(sym, to: SGEMM.self)
    ExternalGEMM.function = { m, n, k, a, lda, b, ldb, beta, c, ldc in
        // 101 = CblasRowMajor, 111 = CblasNoTrans
        sgemm(101, 111, 111, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

var args = Array(CommandLine.arguments.dropFirst())
var options = Options()
var rest: [String] = []
var i = 0
while i < args.count {
    switch args[i] {
    case "--kernels":
        i += 1
        guard i < args.count, let k = InferenceOptions.Kernels(rawValue: args[i]) else { fail("--kernels fast|reference") }
        options.kernels = k
    case "--min-seconds":
        i += 1
        guard i < args.count, let v = Double(args[i]) else { fail("--min-seconds S") }
        options.minSeconds = v
    case "--gemm":
        i += 1
        guard i < args.count, ["own", "openblas"].contains(args[i]) else { fail("--gemm own|openblas") }
        options.gemm = args[i]
        if args[i] == "openblas" { useOpenBLAS() }
    case "--fuse-above":
        i += 1
        guard i < args.count, let v = Int(args[i]), v >= 0 else { fail("--fuse-above BYTES") }
        options.fuseAbove = v
    case "--min-runs":
        i += 1
        guard i < args.count, let v = Int(args[i]) else { fail("--min-runs N") }
        options.minRuns = v
    default: rest.append(args[i])
    }
    i += 1
}
args = rest
guard let command = args.first else { fail("usage: effnet-bench config|run|random ...") }

do {
    switch command {
    case "config":
        guard args.count == 2 else { fail("usage: effnet-bench config b0|b4|v2s") }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(config(args[1])), as: UTF8.self))
    case "run":
        guard args.count >= 3 else { fail("usage: effnet-bench run CACHE CASE...") }
        let cache = args[1]
        // The case is timed first, then checked against ONNX Runtime (a batch of 2), so that the
        // first case's peak RSS is the load and its own runs (run.sh runs one case per process).
        var models: [String: EfficientNet] = [:], checks: [String: [String: Any]] = [:]
        for (n, spec) in args.dropFirst(2).enumerated() {
            let c = Case(spec)
            if models[c.model] == nil {
                models[c.model] = try EfficientNet(contentsOf: URL(fileURLWithPath: "\(cache)/efficientnet_\(c.model).effw"))
            }
            let m = models[c.model]!
            var d = try bench(m, c, options, peakRSS: n == 0, print: false)
            if checks[c.model] == nil {
                m.inferenceOptions = InferenceOptions(kernels: options.kernels, threads: 1)
                checks[c.model] = try check(m, cache: cache, name: c.model)
            }
            d.merge(checks[c.model]!) { a, _ in a }
            print(json(d))
            fflush(nil)
        }
    case "profile":
        // Where the time goes: wall time per layer kind (LayerProfile) over the timed runs.
        guard args.count >= 3 else { fail("usage: effnet-bench profile CACHE CASE...") }
        for spec in args.dropFirst(2) {
            let c = Case(spec)
            let m = try EfficientNet(contentsOf: URL(fileURLWithPath: "\(args[1])/efficientnet_\(c.model).effw"))
            m.inferenceOptions = options.inference(threads: c.threads)
            let x = randomTensor([c.batch, 3, c.size, c.size], seed: 99)
            for _ in 0 ..< 3 { _ = try m(x) }
            LayerProfile.enabled = true
            let t = try time({ _ = try m(x) }, options)
            LayerProfile.enabled = false
            // time() runs 3 warm-ups inside the profile too.
            let inferences = Double(t.runs + 3)
            for (kind, ms, layers) in LayerProfile.totals() where layers > 0 {
                print(json(["engine": "swift", "case": spec, "kind": kind.rawValue, "ms_per_inference": ms / inferences,
                            "layers_per_inference": Double(layers) / inferences, "median_ms": t.median]))
            }
            fflush(nil)
        }
    case "load":
        // Load-to-ready as an application pays it at launch (Benchmarks/load.sh runs this in a
        // fresh process each time): ready = load + first inference - a warm inference.
        guard args.count == 4, let size = Int(args[2]), let threads = Int(args[3]) else {
            fail("usage: effnet-bench load FILE.effw SIZE THREADS")
        }
        let x = randomTensor([1, 3, size, size], seed: 99)
        let w0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUTime()
        let m = try EfficientNet(contentsOf: URL(fileURLWithPath: args[1]))
        m.inferenceOptions = InferenceOptions(kernels: options.kernels, threads: threads)
        let w1 = DispatchTime.now().uptimeNanoseconds, c1 = processCPUTime()
        _ = try m(x)
        let w2 = DispatchTime.now().uptimeNanoseconds, c2 = processCPUTime()
        var warm: [Double] = [], warmCPU: [Double] = []
        for _ in 0 ..< 3 {
            let a = DispatchTime.now().uptimeNanoseconds, b = processCPUTime()
            _ = try m(x)
            warm.append(Double(DispatchTime.now().uptimeNanoseconds - a) / 1e6)
            warmCPU.append(processCPUTime() - b)
        }
        let load = Double(w1 - w0) / 1e6, first = Double(w2 - w1) / 1e6
        print(json(["engine": "swift", "file": args[1], "size": size, "threads": threads,
                    "load_ms": load, "cpu_load_ms": c1 - c0, "first_ms": first, "cpu_first_ms": c2 - c1,
                    "warm_ms": median(warm), "cpu_warm_ms": median(warmCPU),
                    "ready_ms": load + first - median(warm), "cpu_ready_ms": c2 - c0 - median(warmCPU)]))
    case "random":
        for spec in args.dropFirst() {
            let c = Case(spec)
            try bench(try randomModel(config(c.model)), c, options)
        }
    case "compare":
        // Fast vs reference kernels on random weights: the relative error the tests bound.
        for spec in args.dropFirst() {
            let c = Case(spec)
            let m = try randomModel(config(c.model))
            let x = randomTensor([c.batch, 3, c.size, c.size], seed: 5)
            m.inferenceOptions = InferenceOptions(kernels: .reference, threads: 1)
            let ref = try m(x)
            m.inferenceOptions = InferenceOptions(kernels: .fast, threads: c.threads)
            let y = try m(x)
            let cmp = Comparison(actual: y, reference: ref)
            print(json(["case": spec, "rel_err": Double(cmp.relativeError), "max_abs_ref": Double(cmp.maxAbsReference)]))
        }
    case "stages":
        // Per-stage relative error fast vs reference, to find where two paths part.
        for spec in args.dropFirst() {
            let c = Case(spec)
            let m = try randomModel(config(c.model))
            let x = randomTensor([c.batch, 3, c.size, c.size], seed: 5)
            var ref: [(String, Tensor)] = [], fast: [(String, Tensor)] = []
            m.inferenceOptions = InferenceOptions(kernels: .reference, threads: 1)
            _ = try m.forward(x) { ref.append(($0, $1)) }
            m.inferenceOptions = InferenceOptions(kernels: .fast, threads: c.threads)
            _ = try m.forward(x) { fast.append(($0, $1)) }
            for ((name, a), (_, b)) in zip(fast, ref) {
                print(name, a.shape, Comparison(actual: a, reference: b).relativeError)
            }
        }
    default:
        fail("unknown command \(command)")
    }
} catch {
    fail("\(error)")
}

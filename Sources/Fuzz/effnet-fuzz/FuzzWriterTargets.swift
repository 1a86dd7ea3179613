import EffNet
import Foundation
import EffNetInterchange
import EffNetKeras
import EffNetONNX
import EffNetTorch

/// Writer targets: the fuzz bytes are the choices a writer's caller makes (names, dtypes,
/// shapes, values, a model's config), not a file. Each writer must either refuse the input with
/// its typed error or write a file that the project's own reader reads back as exactly what was
/// written. A file that does not read back, or reads back different, is a finding (a trap with
/// the difference), as are the traps and sanitizer reports every target watches for.
extension FuzzTarget {
    static let writers: [FuzzTarget] = [
        FuzzTarget(name: "torchwriter", seeds: "any bytes (choices: tensor names, dtypes, shapes, values)", run: torchWriter),
        FuzzTarget(name: "onnxwriter", seeds: "any bytes (choices: nodes, attributes, initializers, value infos)", run: onnxWriter),
        FuzzTarget(name: "hdf5writer", seeds: "any bytes (choices: groups, datasets, attributes)", run: hdf5Writer),
        FuzzTarget(name: "export", seeds: "any bytes (choices: a small model's config and weights, DEST, --to)", run: export),
    ]

    /// `TorchArchiveWriter` -> `TorchCheckpoint`: names, dtypes, shapes and bytes come back.
    static func torchWriter(_ data: UnsafeRawBufferPointer) {
        var c = FuzzChoices(data)
        var tensors: [TorchArchiveWriter.Tensor] = []
        for _ in 0 ..< c.int(0 ... 6) {
            let name = c.string(maxBytes: c.bool() ? 12 : 300)
            let dtype = c.pick(DType.allCases)
            let shape = (0 ..< c.int(0 ... 4)).map { _ in c.int(0 ... 6) }
            let bytes = c.bytes(shape.reduce(1, *) * dtype.size)
            tensors.append(.init(name: name, dtype: dtype, shape: shape, bytes: bytes))
        }
        let archiveName = c.string(maxBytes: 16)
        guard let bytes = report(try TorchArchiveWriter.archiveBytes(tensors, archiveName: archiveName)) else { return }
        // An empty state dict is written (torch.save({}) is a file) but refused by the reader by
        // design: no model has no tensors.
        guard !tensors.isEmpty else { return }
        let path = bytes.withUnsafeBytes { ScratchFile.store($0, name: "written.pt") }
        let back: TorchCheckpoint
        do { back = try TorchCheckpoint(path: path) } catch {
            finding("torchwriter: an archive of \(tensors.count) tensors (\(describe(tensors))) does not read back: \(error)")
        }
        guard back.tensors.count == tensors.count else {
            finding("torchwriter: \(tensors.count) tensors written, \(back.tensors.count) read back")
        }
        let read = Dictionary(back.tensors.map { ($0.sourceName, $0.raw) }, uniquingKeysWith: { a, _ in a })
        for t in tensors {
            guard let r = read[t.name] else { finding("torchwriter: '\(t.name.debugDescription)' written, not read back (read \(read.keys.sorted()))") }
            guard r.dtype == t.dtype, r.shape == t.shape else {
                finding("torchwriter: '\(t.name.debugDescription)' written \(t.dtype) \(t.shape), read \(r.dtype) \(r.shape)")
            }
            guard let b = r.contiguousBytes, Array(b) == t.bytes else { finding("torchwriter: '\(t.name.debugDescription)' bytes differ") }
        }
    }

    /// `ONNXModelWriter` -> `ONNXModel`: the graph's initializers, nodes and attributes come back.
    static func onnxWriter(_ data: UnsafeRawBufferPointer) {
        var c = FuzzChoices(data)
        var w = ONNXModelWriter(graphName: c.string(maxBytes: 12), opsetVersion: Int64(c.int(1 ... 21)))
        var defined: [String] = []
        for _ in 0 ..< c.int(0 ... 2) {
            let name = c.string(maxBytes: 10)
            w.inputs.append(.init(name: name, dimensions: (0 ..< c.int(0 ... 4)).map { _ in c.bool() ? .fixed(c.int(0 ... 9)) : .symbolic(c.string(maxBytes: 4)) }))
            defined.append(name)
        }
        for _ in 0 ..< c.int(0 ... 4) {
            let name = c.string(maxBytes: 10)
            var shape = (0 ..< c.int(0 ... 3)).map { _ in c.int(0 ... 4) }
            if c.int(0 ... 15) == 0 { shape.append(-1) }
            let n = max(0, shape.reduce(1, *)) + (c.int(0 ... 15) == 0 ? 1 : 0)
            w.initializers.append(c.bool() ? .float(name, shape: shape, (0 ..< n).map { _ in c.float() })
                                           : .int64(name, shape: shape, (0 ..< n).map { _ in c.int64() }))
            defined.append(name)
        }
        for k in 0 ..< c.int(0 ... 5) {
            let inputs = (0 ..< c.int(0 ... 3)).map { _ in defined.isEmpty || c.int(0 ... 7) == 0 ? c.string(maxBytes: 4) : c.pick(defined) }
            let outputs = (0 ..< c.int(1 ... 2)).map { _ in c.string(maxBytes: 6) }
            let attributes = (0 ..< c.int(0 ... 3)).map { _ -> ONNXModelWriter.Attribute in
                let name = c.string(maxBytes: 8)
                switch c.int(0 ... 4) {
                case 0: return .init(name, .int(c.int64()))
                case 1: return .init(name, .ints((0 ..< c.int(0 ... 4)).map { _ in c.int64() }))
                case 2: return .init(name, .float(c.float()))
                case 3: return .init(name, .floats((0 ..< c.int(0 ... 4)).map { _ in c.float() }))
                default: return .init(name, .string(c.string(maxBytes: 12)))
                }
            }
            w.nodes.append(.init(c.pick(["Conv", "Relu", "Add", "", "Custom\(k)"]), name: c.string(maxBytes: 8), inputs: inputs,
                                 outputs: outputs, attributes: attributes))
            defined += outputs
        }
        for _ in 0 ..< c.int(0 ... 2) where !defined.isEmpty {
            w.outputs.append(.init(name: c.pick(defined), dimensions: [.fixed(c.int(0 ... 3))]))
        }
        guard report(try w.validate()) != nil, let bytes = report(try w.serializedBytes()) else { return }
        let m: ONNXModel
        do { m = try bytes.withUnsafeBytes { try ONNXModel(bytes: $0, path: "written.onnx", directory: ScratchFile.directory) } } catch {
            finding("onnxwriter: a validated graph does not read back: \(error)")
        }
        guard m.graph.initializers.count == w.initializers.count, m.graph.nodes.count == w.nodes.count else {
            finding("onnxwriter: \(w.initializers.count) initializers and \(w.nodes.count) nodes written, \(m.graph.initializers.count) and \(m.graph.nodes.count) read")
        }
        for (t, r) in Swift.zip(w.initializers, m.graph.initializers) {
            guard r.name == t.name, r.dims == t.shape else { finding("onnxwriter: initializer '\(t.name)' \(t.shape) read back as '\(r.name)' \(r.dims)") }
            switch t.values {
            case let .float(v):
                guard r.raw.dtype == .f32, r.raw.floats().map(\.bitPattern) == v.map(\.bitPattern) else { finding("onnxwriter: '\(t.name)' float values differ") }
            case let .int64(v):
                guard r.raw.dtype == .i64, r.raw.int64s() == v else { finding("onnxwriter: '\(t.name)' int64 values differ") }
            }
        }
        for (n, r) in Swift.zip(w.nodes, m.graph.nodes) {
            guard r.opType == n.opType, r.name == n.name, r.inputs == n.inputs, r.outputs == n.outputs,
                  r.attributes.map(\.name) == n.attributes.map(\.name) else {
                finding("onnxwriter: node '\(n.name)' (\(n.opType)) read back as '\(r.name)' (\(r.opType)) \(r.inputs) -> \(r.outputs)")
            }
        }
    }

    /// `HDF5Writer` -> `HDF5File`: groups, datasets and string attributes come back.
    static func hdf5Writer(_ data: UnsafeRawBufferPointer) {
        var c = FuzzChoices(data)
        guard let w = report(try HDF5Writer(name: "fuzz writer")) else { return }
        var datasets: [(path: String, floats: [Float]?, ints: [Int64]?, shape: [Int])] = []
        var attributes: [(path: String, name: String, value: [String], scalar: Bool)] = []
        var objects = ["/"]
        for _ in 0 ..< c.int(0 ... 8) {
            let parent = c.pick(objects)
            let path = (parent == "/" ? "" : parent) + "/" + c.string(maxBytes: 10)
            switch c.int(0 ... 3) {
            case 0:
                if report(try w.group(path)) != nil { objects.append(path) }
            case 1, 2:
                let shape = (0 ..< c.int(0 ... 3)).map { _ in c.int(0 ... 5) }
                let n = shape.reduce(1, *) + (c.int(0 ... 15) == 0 ? 1 : 0)
                if c.bool() {
                    let v = (0 ..< n).map { _ in c.float() }
                    if report(try w.dataset(path, float32: v, shape: shape)) != nil { datasets.append((path, v, nil, shape)) }
                } else {
                    let v = (0 ..< n).map { _ in c.int64() }
                    if report(try w.dataset(path, int64: v, shape: shape)) != nil { datasets.append((path, nil, v, shape)) }
                }
            default:
                let on = c.pick(objects + datasets.map(\.path))
                let name = c.string(maxBytes: 10)
                if c.bool() {
                    let s = c.string(maxBytes: 20)
                    if report(try w.attribute(name, on: on, string: s)) != nil { attributes.append((on, name, [s], true)) }
                } else {
                    let s = (0 ..< c.int(0 ... 3)).map { _ in c.string(maxBytes: 8) }
                    if report(try w.attribute(name, on: on, strings: s)) != nil { attributes.append((on, name, s, false)) }
                }
            }
        }
        guard let image = report(try w.image()) else { return }
        let file: HDF5File
        do { file = try image.withUnsafeBytes { try HDF5File(image: ByteStorage(copying: $0), name: "written.h5") } } catch {
            finding("hdf5writer: the written image does not open: \(error)")
        }
        func object(_ path: String) throws -> HDF5Object {
            var group = try file.root()
            let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, try group.kind(of: p) == .dataset { return try group.dataset(p) }
                group = try group.group(p)
            }
            return group
        }
        for d in datasets {
            do {
                guard let set = try object(d.path) as? HDF5Dataset else { finding("hdf5writer: '\(d.path)' is not a dataset when read back") }
                let t = try set.read()
                guard t.shape == d.shape else { finding("hdf5writer: '\(d.path)' written \(d.shape), read \(t.shape)") }
                if let f = d.floats, t.floats().map(\.bitPattern) != f.map(\.bitPattern) { finding("hdf5writer: '\(d.path)' floats differ") }
                if let i = d.ints, t.int64s() != i { finding("hdf5writer: '\(d.path)' int64s differ") }
            } catch {
                finding("hdf5writer: dataset '\(d.path)' does not read back: \(error)")
            }
        }
        for a in attributes {
            do {
                let value = try object(a.path).attribute(a.name)
                // An empty list is written as h5py writes np.asarray([]): an empty float64 array.
                if a.value.isEmpty, case let .floats(f, _) = value, f.isEmpty { continue }
                guard case let .strings(s, scalar) = value, s == a.value, scalar == a.scalar else {
                    finding("hdf5writer: attribute '\(a.name)' on '\(a.path)' written \(a.value), read \(value)")
                }
            } catch {
                finding("hdf5writer: attribute '\(a.name)' on '\(a.path)' does not read back: \(error)")
            }
        }
    }

    /// The whole export: a small model (width, depth, V1 or V2, padding, epsilon, activation,
    /// classes, a classifier chain, input transform) written as an .effw, then converted to a
    /// framework file chosen by the bytes (`effnet-convert SOURCE DEST [--to FAMILY]`). The
    /// export is verified by reading it back before it commits; a read-back that fails is a
    /// finding, a refusal (the family cannot hold the model) is not.
    static func export(_ data: UnsafeRawBufferPointer) {
        var c = FuzzChoices(data)
        let size = c.int(8 ... 40)
        let padding: EfficientNetConfig.Padding = c.pick([.symmetric, .sameDynamic, .sameStatic(size)])
        var config: EfficientNetConfig
        if c.int(0 ... 3) == 0 {
            config = .v2(c.pick([.s, .m]), name: "fuzz-v2", width: c.pick([0.1, 0.2]), depth: [0.1], numClasses: c.int(1 ... 9),
                         bnEpsilon: c.pick([1e-3, 1e-5]), padding: padding)
        } else {
            config = .scaled(name: "fuzz", width: c.pick([0.1, 0.15, 0.25]), depth: c.pick([0.1, 0.2]), numClasses: c.int(1 ... 9),
                             bnEpsilon: c.pick([1e-3, 1e-5, 1e-4]), padding: padding, activation: c.pick([.silu, .relu6]),
                             seRule: c.pick([.quarterOfBlockInput, .quarterOfBlockInputRounded, .quarterOfExpanded]),
                             fixedStemHead: c.int(0 ... 7) == 0)
            config.headChannels = c.pick([config.headChannels, 16, 40])
        }
        switch c.int(0 ... 5) {
        case 0: config.classifierChain = [.linear(c.int(2 ... 12)), .init(c.pick([.relu, .silu, .gelu, .sigmoid])), .init(.dropout), .linear(config.numClasses)]
        case 1: config.classifierChain = [.linear(c.int(2 ... 12)), .init(.batchNorm, epsilon: 1e-5), .init(.silu), .linear(config.numClasses)]
        default: break
        }
        if c.int(0 ... 5) == 0 { config.inputTransform = .init(scale: [1 / 58.4, 1 / 57.1, 1 / 57.4], offset: [-2.1, -2.0, -1.8]) }
        if c.int(0 ... 7) == 0 { config.finalSoftmax = true }

        guard let model = report(try EfficientNet(config: config)) else { return }
        var rng = c.uint64()
        func next() -> Float {
            rng &+= 0x9e37_79b9_7f4a_7c15
            var z = rng
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
        var weights: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let n = shape.reduce(1, *)
            let fanIn = Float(shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1)
            let v: [Float] = name.hasSuffix("running_var") ? (0 ..< n).map { _ in 0.5 + next() }
                : (0 ..< n).map { _ in (next() * 2 - 1) / fanIn.squareRoot() + (name.hasSuffix(".weight") && shape.count == 1 ? 1 : 0) }
            weights[name] = Tensor(shape: shape, scalars: v)
        }
        guard report(try model.load(weights)) != nil else { finding("export: random weights of the model's own shapes do not load") }
        let source = ScratchFile.path("source.effw")
        guard report(try model.write(to: URL(fileURLWithPath: source), overwrite: true)) != nil else { finding("export: the source .effw cannot be written") }

        let targets: [(String, FamilyName?)] = [
            ("out.pth", .torchvision), ("out.pth", .timm), ("out.pth", .timmTF), ("out.pth", .lukemelas), ("out.pth", .lite),
            ("out.pth", .seed), ("out.safetensors", .hf), ("out.safetensors", .timm), ("out.onnx", nil),
            ("out.weights.h5", nil), ("out.h5", nil), ("outdir", .timmTF), ("outdir", .hf),
        ]
        let (name, family) = c.pick(targets)
        let destination = ScratchFile.path(name)
        try? FileManager.default.removeItem(atPath: destination)
        defer { try? FileManager.default.removeItem(atPath: destination) }
        var options = Converter.Options()
        options.target = family
        do {
            let report = try Converter.convert(source: source, destination: destination, options: options)
            if report.passed == false {
                finding("export: \(config.name) (\(describe(config))) to \(name) --to \(family?.rawValue ?? "-") does not verify:\n\(report.text)")
            }
            if verbose { print("exported to \(name) --to \(family?.rawValue ?? "-"): \(report.export?.verification.map { "\($0.passed)" } ?? "-")") }
        } catch let error as ExportError {
            if case .readBack = error { finding("export: \(describe(config)) to \(name): \(error)") }
            _ = report(try { throw error }())
        } catch {
            _ = report(try { throw error }())
        }
    }

    // MARK: helpers

    /// A writer's output that does not read back: stops the run with the difference (libFuzzer
    /// saves the input as crash-*).
    static func finding(_ what: String) -> Never {
        fatalError(what)
    }

    static func describe(_ tensors: [TorchArchiveWriter.Tensor]) -> String {
        tensors.map { "\($0.name.debugDescription) \($0.dtype) \($0.shape)" }.joined(separator: ", ")
    }

    static func describe(_ config: EfficientNetConfig) -> String {
        let json = (try? JSONEncoder().encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return String(json.prefix(2000))
    }
}

/// The fuzz bytes read front to back as choices; past the end every choice is its smallest value,
/// so every input is a complete (if small) set of choices.
struct FuzzChoices {
    private let bytes: [UInt8]
    private var position = 0

    init(_ data: UnsafeRawBufferPointer) { bytes = Array(data) }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bytes(_ n: Int) -> [UInt8] { (0 ..< n).map { _ in byte() } }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A value in a small range (at most 256 values).
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(byte()) % range.count }

    mutating func pick<T>(_ options: [T]) -> T { options[int(0 ... options.count - 1)] }

    mutating func uint64() -> UInt64 { bytes(8).reduce(0) { $0 << 8 | UInt64($1) } }

    mutating func int64() -> Int64 { Int64(bitPattern: uint64()) }

    /// Any bit pattern: NaNs with payloads, infinities, subnormals.
    mutating func float() -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: uint64() >> 32)) }

    /// Up to `maxBytes` bytes as UTF-8 (invalid sequences become U+FFFD), often plain ASCII.
    mutating func string(maxBytes: Int) -> String {
        let raw = bytes(int(0 ... min(maxBytes, 255)))
        return String(decoding: raw, as: UTF8.self)
    }
}

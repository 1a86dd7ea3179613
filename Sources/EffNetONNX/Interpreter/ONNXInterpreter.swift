/// A small reference interpreter for ONNX graphs: plain NCHW float32 kernels for the operators
/// EfficientNet exports use (convolutions, batch norm, activations, pooling, Gemm/MatMul, Pad,
/// Softmax, and the shape arithmetic exporters emit). It is written independently of the EffNet
/// module tree so that it can check conversions: a mapping bug cannot hide in shared code.
///
///     let interpreter = try ONNXInterpreter(model: model)
///     let result = try interpreter.run(["input": ONNXArray(x)], keep: ["stem_out"])
///     let logits = result.outputs[0]
///
/// Values are computed in file order (which the IR requires to be topological); a value used before
/// it is produced, an unsupported operator or an ill-formed node is a typed error naming the node.
public final class ONNXInterpreter: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Largest tensor (in elements) any node may produce.
        public var maxElements = 1 << 28
        /// Deepest nesting of model-local function calls.
        public var maxFunctionDepth = 8
        public init() {}
    }

    public struct Result {
        /// The graph outputs, in declaration order.
        public var outputs: [ONNXArray]
        /// The values asked for with `keep`, by name (those the graph computed).
        public var kept: [String: ONNXArray]
    }

    public let model: ONNXModel
    public let limits: Limits
    let opset: Int64
    /// Initializers and Constant-node values, converted once.
    private let constants: [String: ONNXArray]
    private let functions: [String: ONNXFunction]

    /// - Throws: `ONNXRuntimeError.graph` when the graph has no outputs or a Constant node's value
    ///   cannot be read.
    public init(model: ONNXModel, limits: Limits = Limits()) throws {
        self.model = model
        self.limits = limits
        opset = model.opsetVersion() ?? 1
        var constants: [String: ONNXArray] = [:]
        for t in model.graph.initializers { constants[t.name] = ONNXArray(t) }
        self.constants = constants
        var functions: [String: ONNXFunction] = [:]
        for f in model.functions { functions["\(f.domain)::\(f.name)"] = f }
        self.functions = functions
        guard !model.graph.outputs.isEmpty else { throw ONNXRuntimeError.graph(detail: "the graph declares no outputs") }
    }

    /// The graph's data inputs (declared inputs that no initializer provides).
    public var inputs: [ONNXValueInfo] { model.graph.dataInputs }

    /// Every ai.onnx operator the interpreter implements (docs/ONNX_CONFORMANCE.md: how they fare
    /// on ONNX's own node tests).
    public static var supportedOperators: Set<String> { Kernels.supported }

    /// Runs the graph.
    /// - Parameters:
    ///   - feeds: a value for every data input, by name. Shapes must match the declared fixed
    ///     dimensions.
    ///   - keep: names of intermediate values to return as well (e.g. block outputs).
    /// - Throws: `ONNXRuntimeError` naming the node (or input) that failed.
    public func run(_ feeds: [String: ONNXArray], keep: Set<String> = []) throws -> Result {
        try checkElementTypes()
        for info in inputs {
            guard let v = feeds[info.name] else { throw ONNXRuntimeError.input(name: info.name, detail: "no value given") }
            try check(v, against: info)
        }
        let graph = model.graph
        var values = constants
        for (k, v) in feeds { values[k] = v }
        let wanted = Set(graph.outputs.map(\.name)).union(keep)
        var kept: [String: ONNXArray] = [:]
        try execute(graph.nodes, values: &values, wanted: wanted, kept: &kept, depth: 0)
        var outputs: [ONNXArray] = []
        for o in graph.outputs {
            guard let v = values[o.name] ?? kept[o.name] else {
                throw ONNXRuntimeError.graph(detail: "no node produces the graph output '\(o.name)'")
            }
            outputs.append(v)
        }
        return Result(outputs: outputs, kept: kept.filter { keep.contains($0.key) })
    }

    /// Graph inputs and outputs of element types no ONNXArray holds (strings, unsigned 16-64 bit,
    /// complex, 8-bit floats, 4-bit integers) are refused before anything runs, naming the
    /// operator that reads or writes them.
    private func checkElementTypes() throws {
        let graph = model.graph
        for info in graph.outputs + graph.dataInputs {
            let type: String
            if info.nonTensor == true {
                type = "non-tensor (sequence, map or optional)"
            } else if let t = info.elementType, ONNXDataType(rawValue: t)?.dtype == nil {
                type = ONNXDataType.name(of: t)
            } else {
                continue
            }
            let node = graph.nodes.first { $0.inputs.contains(info.name) || $0.outputs.contains(info.name) }
            throw ONNXRuntimeError.unsupportedFeature(op: node?.opType ?? "graph input", node: node?.label ?? info.name,
                                                      detail: "\(type) value '\(info.name)'")
        }
    }

    private func check(_ v: ONNXArray, against info: ONNXValueInfo) throws {
        if let t = info.elementType, let declared = ONNXDataType(rawValue: t), declared.isFloatingPoint != v.isFloat {
            throw ONNXRuntimeError.input(name: info.name, detail: "expected \(declared.name), got \(v.elementType.name)")
        }
        guard let dims = info.shape else { return }
        guard dims.count == v.rank else {
            throw ONNXRuntimeError.input(name: info.name, detail: "expected rank \(dims.count) \(dims.map(\.description)), got shape \(v.shape)")
        }
        for (d, s) in zip(dims, v.shape) {
            if let f = d.fixed, f != s {
                throw ONNXRuntimeError.input(name: info.name, detail: "expected shape [\(dims.map(\.description).joined(separator: ", "))], got \(v.shape)")
            }
        }
    }

    /// Runs `nodes` over `values`, dropping each intermediate after its last use unless wanted.
    private func execute(_ nodes: [ONNXNode], values: inout [String: ONNXArray], wanted: Set<String>,
                         kept: inout [String: ONNXArray], depth: Int) throws {
        var lastUse: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { for name in n.inputs where !name.isEmpty { lastUse[name] = i } }
        var defined = Set(values.keys)
        for (i, node) in nodes.enumerated() {
            var args: [ONNXArray?] = []
            args.reserveCapacity(node.inputs.count)
            for name in node.inputs {
                if name.isEmpty { args.append(nil); continue }
                guard let v = values[name] else {
                    throw ONNXRuntimeError.graph(detail: "node '\(node.label)' (\(node.opType)) uses '\(name)' before any node produces it")
                }
                args.append(v)
            }
            let results = try evaluate(node, args, depth: depth)
            for (k, name) in node.outputs.enumerated() where !name.isEmpty {
                guard k < results.count else {
                    throw ONNXRuntimeError.unsupportedFeature(op: node.opType, node: node.label, detail: "output \(k)")
                }
                guard defined.insert(name).inserted else {
                    throw ONNXRuntimeError.graph(detail: "value '\(name)' is defined twice (node '\(node.label)')")
                }
                values[name] = results[k]
                if wanted.contains(name) { kept[name] = results[k] }
            }
            // Free what no later node reads (graph outputs and kept values stay in `kept`).
            for name in node.inputs where !name.isEmpty && lastUse[name] == i && constants[name] == nil && !wanted.contains(name) {
                values[name] = nil
            }
        }
    }

    /// One node: an ai.onnx operator, or a call of a model-local function.
    private func evaluate(_ node: ONNXNode, _ args: [ONNXArray?], depth: Int) throws -> [ONNXArray] {
        if let f = functions["\(node.domain)::\(node.opType)"] {
            return try call(f, node, args, depth: depth)
        }
        guard node.isDefaultDomain else {
            throw ONNXRuntimeError.unsupportedOperator(op: node.opType, domain: node.domain, node: node.label)
        }
        let ctx = OpContext(node: node, inputs: args, opset: opset, maxElements: limits.maxElements)
        return try Kernels.dispatch(ctx)
    }

    private func call(_ f: ONNXFunction, _ node: ONNXNode, _ args: [ONNXArray?], depth: Int) throws -> [ONNXArray] {
        guard depth < limits.maxFunctionDepth else {
            throw ONNXRuntimeError.unsupportedFeature(op: node.opType, node: node.label, detail: "function nesting deeper than \(limits.maxFunctionDepth)")
        }
        guard node.attributes.isEmpty || f.attributeNames.isEmpty else {
            throw ONNXRuntimeError.unsupportedFeature(op: node.opType, node: node.label, detail: "function attributes")
        }
        var scope: [String: ONNXArray] = [:]
        for (i, name) in f.inputs.enumerated() where i < args.count {
            if let v = args[i] { scope[name] = v }
        }
        var kept: [String: ONNXArray] = [:]
        try execute(f.nodes, values: &scope, wanted: Set(f.outputs), kept: &kept, depth: depth + 1)
        return try f.outputs.map { name in
            guard let v = kept[name] ?? scope[name] else {
                throw ONNXRuntimeError.graph(detail: "function '\(f.name)' does not produce its output '\(name)'")
            }
            return v
        }
    }
}

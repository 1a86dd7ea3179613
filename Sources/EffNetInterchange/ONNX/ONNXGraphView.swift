import EffNet
import EffNetONNX

/// The graph as the walk sees it: constants folded, pass-through nodes (Identity, inference
/// Dropout, Cast to float) removed from the activation path, and def-use links in both directions.
struct ONNXGraphView {
    let model: ONNXModel
    let path: String
    let nodes: [ONNXNode]
    /// Folded constants by (original) value name.
    let constants: [String: ONNXArray]
    /// Producer node index of every non-constant value (canonical names).
    private(set) var producer: [String: Int] = [:]
    /// Consumer node indices of every non-constant value (canonical names), in node order.
    private(set) var consumers: [String: [Int]] = [:]
    /// Canonical names of the graph outputs.
    let outputs: [String]
    /// The data input the network reads.
    let input: ONNXValueInfo
    /// Casts to float16/bfloat16 on the activation path that the walk looked through: the graph
    /// computes (partly) in half precision, the Swift model in float32.
    private(set) var narrowingCasts = 0
    private let alias: [String: String]

    /// - Throws: `MappingError.unsupported` when the graph has no single float data input.
    init(model: ONNXModel) throws {
        self.model = model
        path = model.path
        let constants = ONNXConstantFolding.fold(model)
        self.constants = constants
        let data = model.graph.dataInputs
        guard data.count == 1, let input = data.first else {
            throw MappingError.unsupported(path: model.path, detail: "expected one data input, the graph has \(data.map(\.name))")
        }
        self.input = input
        var alias: [String: String] = [:]
        var kept: [ONNXNode] = []
        for n in model.graph.nodes {
            guard let out = n.outputs.first, !out.isEmpty else { continue }  // produces nothing the walk can follow
            if constants[out] != nil { continue }  // folded away
            if Self.isPassThrough(n) || Self.isFloatCast(n), let src = n.inputs.first, !src.isEmpty, constants[src] == nil {
                alias[out] = src
                if !Self.isPassThrough(n) { narrowingCasts += 1 }
                continue
            }
            kept.append(n)
        }
        self.alias = alias
        func canon(_ v: String) -> String {
            var v = v, steps = 0
            while let next = alias[v], steps < 10_000 { v = next; steps += 1 }
            return v
        }
        nodes = kept.map { n in
            ONNXNode(name: n.name, opType: n.opType, domain: n.domain,
                     inputs: n.inputs.map { $0.isEmpty || constants[$0] != nil ? $0 : canon($0) },
                     outputs: n.outputs, attributes: n.attributes)
        }
        outputs = model.graph.outputs.map { canon($0.name) }
        for (i, n) in nodes.enumerated() {
            for o in n.outputs where !o.isEmpty { producer[o] = i }
            for v in Set(n.inputs) where !v.isEmpty && constants[v] == nil { consumers[v, default: []].append(i) }
        }
    }

    /// Nodes that pass their first input through unchanged at inference.
    static func isPassThrough(_ n: ONNXNode) -> Bool {
        guard n.isDefaultDomain else { return false }
        switch n.opType {
        case "Identity": return true
        case "Dropout": return n.outputs.dropFirst().allSatisfy(\.isEmpty)
        case "Cast":
            if case let .int(to)? = n.attribute("to") { return to == Int64(ONNXDataType.float.rawValue) }
            return false
        default: return false
        }
    }

    /// A Cast between floating-point types (half precision graphs cast their input and output).
    static func isFloatCast(_ n: ONNXNode) -> Bool {
        guard n.isDefaultDomain, n.opType == "Cast", case let .int(to)? = n.attribute("to"),
              let t = ONNXDataType(rawValue: Int32(clamping: to)) else { return false }
        return t.isFloatingPoint
    }

    func canonical(_ v: String) -> String {
        var v = v, steps = 0
        while let next = alias[v], steps < 10_000 { v = next; steps += 1 }
        return v
    }

    func isConstant(_ v: String) -> Bool { constants[v] != nil }

    /// Consumers of `v` that read its data (Shape and Size only read its shape).
    func dataConsumers(_ v: String) -> [Int] {
        (consumers[v] ?? []).filter { !["Shape", "Size"].contains(nodes[$0].opType) }
    }

    /// The only data consumer of `v`, or nil when there are none or several, or `v` is an output.
    func soleConsumer(_ v: String) -> Int? {
        let c = dataConsumers(v)
        return c.count == 1 && !outputs.contains(v) ? c[0] : nil
    }

    /// The non-constant inputs of node `i`.
    func dataInputs(of i: Int) -> [String] {
        nodes[i].inputs.filter { !$0.isEmpty && constants[$0] == nil }
    }

    /// The constant input of a binary node `i` whose other input is `v`, with its position.
    func constantOperand(of i: Int, besides v: String) -> (value: ONNXArray, position: Int)? {
        let n = nodes[i]
        guard n.inputs.count == 2 else { return nil }
        if n.inputs[0] == v, let c = constants[n.inputs[1]] { return (c, 1) }
        if n.inputs[1] == v, let c = constants[n.inputs[0]] { return (c, 0) }
        return nil
    }

    func fail(_ node: Int?, _ detail: String) -> MappingError {
        guard let node else { return .unsupported(path: path, detail: "ONNX graph: \(detail)") }
        let n = nodes[node]
        return .unsupported(path: path, detail: "ONNX graph, node '\(n.label)' (\(n.opType)): \(detail)")
    }

    // MARK: Weights

    /// Where a constant tensor comes from: a file tensor the mapping can copy (an initializer or a
    /// Constant node's value, reached through Identity/Cast-to-float), or a value computed by folding.
    enum WeightRef {
        case tensor(name: String, shape: [Int])
        case computed(Tensor)

        var shape: [Int] {
            switch self {
            case let .tensor(_, s): return s
            case let .computed(t): return t.shape
            }
        }
    }

    /// - Throws: `MappingError.unsupported` when `name` is not a floating-point constant.
    func weight(_ name: String, for node: Int) throws -> WeightRef {
        guard let value = constants[name] else { throw fail(node, "input '\(name)' is not a constant") }
        guard value.isFloat else { throw fail(node, "input '\(name)' is \(value.elementType.name), not floating point") }
        var v = name, steps = 0
        while steps < 64 {
            steps += 1
            if model.graph.initializer(v) != nil { return .tensor(name: v, shape: value.shape) }
            guard let p = model.graph.nodes.first(where: { $0.outputs.first == v }) else { break }
            if p.opType == "Constant" && p.isDefaultDomain { return .tensor(name: v, shape: value.shape) }
            guard Self.isPassThrough(p), let src = p.inputs.first, let srcValue = constants[src],
                  srcValue.shape == value.shape, srcValue.isFloat else { break }
            v = src
        }
        return .computed(value.tensor)
    }

    /// A folded value as a float tensor.
    func tensor(_ ref: WeightRef, checkpoint: [String: Tensor]) -> Tensor? {
        switch ref {
        case let .tensor(name, _): return checkpoint[name] ?? constants[name]?.tensor
        case let .computed(t): return t
        }
    }
}

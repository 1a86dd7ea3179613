/// Evaluates every node whose inputs are all constants (initializers, Constant nodes, and what
/// they feed), with the interpreter's own kernels. What remains is what depends on the graph input:
/// for example a Pad whose pads come out constant is static padding, while pads computed from
/// `Shape(input)` stay dynamic.
public enum ONNXConstantFolding {
    /// Constant values by name: initializers, Constant-node outputs and every foldable node output.
    /// Nodes that fail to evaluate, or would produce more than `maxElements` elements, stay unfolded.
    public static func fold(_ model: ONNXModel, maxElements: Int = 1 << 24) -> [String: ONNXArray] {
        var values: [String: ONNXArray] = [:]
        for t in model.graph.initializers where t.count <= maxElements { values[t.name] = ONNXArray(t) }
        let opset = model.opsetVersion() ?? 1
        let dataInputs = Set(model.graph.dataInputs.map(\.name))
        for node in model.graph.nodes where node.isDefaultDomain {
            var args: [ONNXArray?] = []
            var foldable = true
            for name in node.inputs {
                if name.isEmpty { args.append(nil); continue }
                guard !dataInputs.contains(name), let v = values[name] else { foldable = false; break }
                args.append(v)
            }
            guard foldable, Kernels.supported.contains(node.opType) else { continue }
            let ctx = OpContext(node: node, inputs: args, opset: opset, maxElements: maxElements)
            guard let results = try? Kernels.dispatch(ctx) else { continue }
            for (k, name) in node.outputs.enumerated() where !name.isEmpty && k < results.count {
                values[name] = results[k]
            }
        }
        return values
    }
}

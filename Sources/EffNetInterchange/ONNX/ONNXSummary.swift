import EffNet
import EffNetONNX

/// What `effnet-inspect x.onnx` shows about an ONNX file: producer, opsets, inputs and outputs,
/// an operator histogram, the initializers, and the mapping the graph walk would apply (or why it
/// does not apply).
public struct ONNXSummary: Encodable, Sendable {
    public struct TensorLine: Encodable, Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// "inline" or "external <file> @<offset>".
        public var location: String
    }

    public struct MappingLine: Encodable, Sendable {
        public var canonical: String
        /// The source tensor, or "(computed)" for synthesized tensors.
        public var source: String
        public var transform: String
    }

    public var file: String
    public var producer: String
    public var irVersion: Int64
    public var opsets: [String]
    public var inputs: [String]
    public var outputs: [String]
    public var inputLayout: String
    public var operators: [String: Int]
    public var initializerCount: Int
    public var initializerBytes: Int
    public var externalFiles: [String]
    public var initializers: [TensorLine]
    public var constantNodeTensors: Int
    public var config: EfficientNetConfig?
    public var mapping: [MappingLine]?
    public var mappingNotes: [String]?
    public var mappingProblem: String?

    /// Summarises `model`; `mapping` is the walk's result (or its error).
    public init(model: ONNXModel, mapping: Result<ONNXGraphMapping, Error>) {
        file = model.path
        producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        irVersion = model.irVersion
        opsets = model.opsetImports.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }
        inputs = model.graph.dataInputs.map(\.summary)
        outputs = model.graph.outputs.map(\.summary)
        var ops: [String: Int] = [:]
        for (op, n) in model.graph.operatorHistogram { ops[op] = n }
        operators = ops
        let inits = model.graph.initializers
        initializerCount = inits.count
        initializerBytes = inits.reduce(0) { $0 + $1.byteCount }
        var files = Set<String>()
        initializers = inits.map { t in
            var loc = "inline"
            if case let .external(path, offset, _) = t.location {
                let name = String(path.split(separator: "/").last ?? "")
                files.insert(name)
                loc = "external \(name) @\(offset)"
            }
            return TensorLine(name: t.name, dtype: t.dataType.name, shape: t.dims, location: loc)
        }
        externalFiles = files.sorted()
        constantNodeTensors = model.graph.constantNodeTensors.count
        switch mapping {
        case let .success(m):
            inputLayout = m.inputLayout.rawValue
            config = m.mapping.config
            mappingNotes = m.notes
            self.mapping = m.mapping.assignments.map { MappingLine(canonical: $0.canonical, source: $0.source, transform: $0.transform.description) }
                + m.mapping.synthesized.keys.sorted().map { MappingLine(canonical: $0, source: "(computed)", transform: "-") }
        case let .failure(e):
            inputLayout = ONNXReference.detectLayout(model).rawValue
            mappingProblem = "\(e)"
        }
    }

    /// The notes `SourceCheckpoint` carries (effnet-inspect prints them for every format).
    public var notes: [String: String] {
        var n: [String: String] = [
            "onnx_producer": producer.isEmpty ? "(unknown)" : producer,
            "onnx_ir_version": "\(irVersion)",
            "onnx_opsets": opsets.joined(separator: ", "),
            "onnx_inputs": inputs.joined(separator: "; "),
            "onnx_outputs": outputs.joined(separator: "; "),
            "onnx_input_layout": inputLayout,
            "onnx_operators": operators.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) x\($0.value)" }.joined(separator: ", "),
            "onnx_initializers": "\(initializerCount) tensors, \(initializerBytes) bytes"
                + (externalFiles.isEmpty ? "" : " (external data in \(externalFiles.joined(separator: ", ")))"),
        ]
        if let mappingNotes { n["onnx_mapping"] = "graph walk: " + mappingNotes.joined(separator: "; ") }
        if let mappingProblem { n["onnx_mapping_problem"] = mappingProblem }
        return n
    }

    /// A readable multi-line rendering.
    public var text: String {
        var lines = ["\(file): ONNX, IR \(irVersion), produced by \(producer.isEmpty ? "(unknown)" : producer)",
                     "opsets: \(opsets.joined(separator: ", "))",
                     "inputs: \(inputs.joined(separator: "; ")) (\(inputLayout.uppercased()))",
                     "outputs: \(outputs.joined(separator: "; "))",
                     "operators: " + operators.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                        .map { "\($0.key) x\($0.value)" }.joined(separator: ", "),
                     "initializers: \(initializerCount) (\(initializerBytes) bytes)"
                        + (externalFiles.isEmpty ? "" : ", external data in \(externalFiles.joined(separator: ", "))")]
        for t in initializers { lines.append("  \(t.name)  \(t.dtype) \(t.shape)  \(t.location)") }
        if let mapping {
            lines.append("mapping (graph walk): \(mapping.count) canonical tensors")
            for note in mappingNotes ?? [] { lines.append("  note: \(note)") }
            for m in mapping { lines.append("  \(m.canonical) <- \(m.source)\(m.transform == "identity" ? "" : " [\(m.transform)]")") }
        }
        if let mappingProblem { lines.append("mapping: not applicable: \(mappingProblem)") }
        return lines.joined(separator: "\n")
    }
}

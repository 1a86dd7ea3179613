import EffNet
import EffNetONNX

// Glue from the ONNXModel reader to SourceCheckpoint. Owned by the ONNX work (issue 5).
extension SourceReader {
    /// An ONNX model: initializers then Constant-node tensors (named by their output) as tensors,
    /// the graph walk as `selfMapping`, the graph itself (through the reference interpreter) as
    /// `reference`, and the file's facts (producer, opsets, inputs, operators, mapping) as notes.
    /// - Throws: `ONNXError` for anything wrong in the file (external data included).
    static func readONNX(_ file: MappedFile) throws -> SourceCheckpoint {
        checkpoint(for: try ONNXModel(file: file))
    }

    /// The checkpoint of an already read ONNX model. Never fails for a readable model: a graph
    /// that does not walk keeps its error for `selfMapping`, one that cannot run is noted.
    public static func checkpoint(for model: ONNXModel) -> SourceCheckpoint {
        var tensors = model.graph.initializers.map { SourceTensor(name: $0.name, raw: $0.raw) }
        var seen = Set(tensors.map(\.name))
        for t in model.graph.constantNodeTensors where seen.insert(t.name).inserted {
            tensors.append(SourceTensor(name: t.name, raw: t.raw))
        }
        let walk = Result { try ONNXGraphMapping(model: model) }
        var checkpoint = SourceCheckpoint(path: model.path, format: .onnx, tensors: tensors,
                                          notes: ONNXSummary(model: model, mapping: walk).notes)
        checkpoint.selfMapping = { try walk.get().mapping }
        let mapped = try? walk.get()
        do {
            checkpoint.reference = try ONNXReference(model: model, stages: mapped?.stages ?? [], layout: mapped?.inputLayout)
        } catch {
            checkpoint.notes["onnx_reference_problem"] = "\(error)"  // inspect still works; conversion has no graph reference
        }
        return checkpoint
    }
}

import EffNet
import EffNetTF

// Glue from the TFCheckpoint reader to SourceCheckpoint (issue 20).
//
// Tensors: every float entry (float32/16/64, bfloat16), named by its checkpoint key, a view into
// the mapped shard; EMA copies (`.../ExponentialMovingAverage`) stay tensors so that a family
// can choose between them and the raw variables (`TFNotes.variables`). Skipped, with the reason:
// integer entries (global_step, counters), string entries (object graph), other dtypes, and
// optimizer state (RMSProp, Momentum, Adam slots and beta powers). Notes (keys in `TFNotes`):
//   tf_prefix       the checkpoint prefix read
//   tf_bundle       a few lines for effnet-inspect: shards, version, then every variable with its
//                   TensorFlow dtype, shape and shard
//   tf_variables    "ema" (the default) or "raw": which copy a family should map
//   tf_object_graph (object-based TF2 checkpoints and SavedModels) how many variables the object
//                   graph named: their tensors carry the framework's full names ("stem_conv/kernel",
//                   as Keras names its weights), so the Keras family maps them
extension SourceReader {
    public enum TFNotes {
        public static let prefix = "tf_prefix"
        public static let bundle = "tf_bundle"
        public static let variables = "tf_variables"
        public static let objectGraph = "tf_object_graph"
    }

    /// Which copy of each variable to map when a checkpoint holds ExponentialMovingAverage copies.
    public enum TFVariables: String, Sendable, CaseIterable {
        case ema, raw
    }

    /// The last key components TensorFlow's optimizers give their slot variables.
    static let optimizerSlots: Set<Substring> = ["RMSProp", "RMSProp_1", "Momentum", "Adam", "Adam_1",
                                                 "Adagrad", "Ftrl", "Ftrl_1", "LARSOptimizer"]
    static let optimizerScalars: Set<String> = ["beta1_power", "beta2_power", "global_step"]

    /// Reads a TensorFlow checkpoint given as any of its forms (`TensorBundle.prefix(forSource:)`).
    /// - Throws: `TFCheckpointError`, `FileError`.
    static func readTFCheckpoint(prefix: String, options: Options) throws -> SourceCheckpoint {
        let bundle = try TensorBundle(prefix: prefix, verifyChecksums: !options.deferDataChecks)
        var tensors: [SourceTensor] = []
        var skipped: [(name: String, reason: String)] = []
        // Object-based checkpoints name variables by object path; the graph has their real names.
        let graph = try bundle.objectGraph()
        var fullNames = graph?.fullNames ?? [:]
        let slotKeys = graph?.slotVariableKeys ?? []
        // Several keys may carry one full name (a SavedModel lists its variables under both
        // `variables/N` and `_all_variables/M`): identical copies are skipped as duplicates of the
        // first key; copies that differ leave every key of that name unrenamed.
        var duplicateOf: [String: String] = [:]
        let byName = Dictionary(grouping: bundle.entries.filter { fullNames[$0.key] != nil }) { fullNames[$0.key] ?? "" }
        for (_, group) in byName where group.count > 1 {
            let first = group[0]
            let same = group.dropFirst().allSatisfy { e in
                e.dataType == first.dataType && e.shape == first.shape && e.size == first.size
                    && bundle.bytes(of: e).elementsEqual(bundle.bytes(of: first))
            }
            if same {
                for e in group.dropFirst() { duplicateOf[e.key] = first.key }
            } else {
                for e in group { fullNames[e.key] = nil }
            }
        }
        var renamed = 0
        var listing = ["\(bundle.entries.count) variables in \(bundle.header.shardCount) shard(s), bundle format \(bundle.header.producer)"
                       + (bundle.header.bigEndian ? ", big-endian" : "")]
        for e in bundle.entries {
            listing.append("\(e.key)  \(e.dataType) \(e.shape)  shard \(e.shardID) @\(e.offset)")
            let last = e.key.split(separator: "/").last ?? ""
            if optimizerSlots.contains(last) || optimizerScalars.contains(e.key)
                || slotKeys.contains(e.key) || e.key.contains("/.OPTIMIZER_SLOT/") || e.key.hasPrefix("optimizer/") {
                skipped.append((e.key, "optimizer or training state (\(last)), not a weight"))
                continue
            }
            guard let dtype = e.dataType.dtype else {
                skipped.append((e.key, e.key == TensorBundle.objectGraphKey
                                ? "object graph of an object-based checkpoint (string)" : "\(e.dataType) entry, not a weight"))
                continue
            }
            guard dtype.isFloatingPoint else {
                let named = fullNames[e.key].map { " '\($0)'" } ?? ""
                skipped.append((e.key, "\(e.dataType) \(e.shape)\(named): integer state, not a weight"))
                continue
            }
            if let original = duplicateOf[e.key] {
                skipped.append((e.key, "the same variable as '\(original)' (\(fullNames[e.key] ?? "")), stored twice"))
                continue
            }
            var name = e.key
            if let full = fullNames[e.key] {
                name = full
                renamed += 1
            } else if graph != nil, e.key.contains("/.ATTRIBUTES/") {
                // E.g. a SavedModel's `_all_variables/N` (further references to the variables
                // that `variables/N` holds under their names).
                skipped.append((e.key, "object-graph entry with no variable name in the graph (a further reference, not a named weight)"))
                continue
            }
            tensors.append(SourceTensor(name: name, raw: try bundle.tensor(e)))
        }
        var notes = [TFNotes.prefix: prefix, TFNotes.bundle: listing.joined(separator: "\n"),
                     TFNotes.variables: options.tfVariables.rawValue]
        if let graph {
            notes[TFNotes.objectGraph] = "\(graph.nodes.count) objects; \(renamed) of \(tensors.count) weights named by their full names from the object graph"
        }
        var checkpoint = SourceCheckpoint(path: prefix + ".index", format: .tfCheckpoint, tensors: tensors,
                                          skipped: skipped, notes: notes)
        if options.deferDataChecks { checkpoint.pendingCheck = { try bundle.verifyChecksums() } }
        return checkpoint
    }
}

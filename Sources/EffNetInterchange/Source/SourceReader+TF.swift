import EffNet
import TFCheckpoint

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
extension SourceReader {
    public enum TFNotes {
        public static let prefix = "tf_prefix"
        public static let bundle = "tf_bundle"
        public static let variables = "tf_variables"
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
        var listing = ["\(bundle.entries.count) variables in \(bundle.header.shardCount) shard(s), bundle format \(bundle.header.producer)"
                       + (bundle.header.bigEndian ? ", big-endian" : "")]
        for e in bundle.entries {
            listing.append("\(e.key)  \(e.dataType) \(e.shape)  shard \(e.shardID) @\(e.offset)")
            let last = e.key.split(separator: "/").last ?? ""
            if optimizerSlots.contains(last) || optimizerScalars.contains(e.key) {
                skipped.append((e.key, "optimizer or training state (\(last)), not a weight"))
                continue
            }
            guard let dtype = e.dataType.dtype else {
                skipped.append((e.key, e.key == TensorBundle.objectGraphKey
                                ? "object graph of an object-based checkpoint (string)" : "\(e.dataType) entry, not a weight"))
                continue
            }
            guard dtype.isFloatingPoint else {
                skipped.append((e.key, "\(e.dataType) \(e.shape): integer state, not a weight"))
                continue
            }
            tensors.append(SourceTensor(name: e.key, raw: try bundle.tensor(e)))
        }
        let notes = [TFNotes.prefix: prefix, TFNotes.bundle: listing.joined(separator: "\n"),
                     TFNotes.variables: options.tfVariables.rawValue]
        var checkpoint = SourceCheckpoint(path: prefix + ".index", format: .tfCheckpoint, tensors: tensors,
                                          skipped: skipped, notes: notes)
        if options.deferDataChecks { checkpoint.pendingCheck = { try bundle.verifyChecksums() } }
        return checkpoint
    }
}

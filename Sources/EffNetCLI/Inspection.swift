import EffNet
import EffNetInterchange
import Foundation

/// What effnet-inspect prints, as a JSON-encodable value (the text form is derived from it).
public struct Inspection: Encodable {
    public struct TensorLine: Encodable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
    }

    public struct Stage: Encodable {
        public var stage: Int
        /// "mbconv" or "fused" (EfficientNetV2's Fused-MBConv).
        public var kind: String
        public var blocks: Int
        public var expandRatio: Int
        public var kernel: Int
        public var stride: Int
        public var inChannels: Int
        public var outChannels: Int
        public var seChannels: [Int]
    }

    public var file: String
    public var format: String
    public var tensors: [TensorLine]
    public var parameterCount: Int
    public var notes: [String: String] = [:]
    public var skipped: [String: String] = [:]
    public var config: EfficientNetConfig?
    public var stages: [Stage]?
    public var provenance: Provenance?
    public var detectedFamilies: [String]?
    public var mapping: [String: String]?
    /// What the mapping decided and from what (padding from the config or assumed, epsilon,
    /// preprocessing ...): the conventions a weights-only file leaves open are named here.
    public var decisions: [String]?
    public var mappingProblem: String?

    /// Inspects any supported file.
    /// - Throws: the readers' errors (each naming the file and place).
    public static func of(path: String) throws -> Inspection {
        let checkpoint = try SourceReader.read(path: path)
        if checkpoint.format == .effw {
            let file = try EffwFile(path: path)
            let config = try file.config()
            var r = Inspection(file: path, format: "effw \(file.metadata[EffwKeys.version] ?? "?")",
                               tensors: file.entries.map { TensorLine(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) },
                               parameterCount: file.entries.reduce(0) { $0 + $1.shape.reduce(1, *) })
            r.config = config
            r.stages = stages(config)
            r.provenance = file.provenance()
            return r
        }
        var r = Inspection(file: path, format: checkpoint.format.rawValue,
                           tensors: checkpoint.tensors.map { TensorLine(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) },
                           parameterCount: checkpoint.tensors.filter { $0.dtype.isFloatingPoint }.reduce(0) { $0 + $1.shape.reduce(1, *) })
        r.notes = checkpoint.notes
        for s in checkpoint.skipped { r.skipped[s.name] = s.reason }
        if checkpoint.selfMapping == nil {
            var found = FamilyRegistry.detect(checkpoint).map { "\($0.family.rawValue) (score \($0.score)): \($0.variant)" }
            if found.isEmpty, let prefix = checkpoint.sharedNamePrefix {
                // As the converter does: names under one wrapper attribute, matched without it.
                found = FamilyRegistry.detect(checkpoint.removingNamePrefix(prefix))
                    .map { "\($0.family.rawValue) (score \($0.score), names without '\(prefix)'): \($0.variant)" }
            }
            r.detectedFamilies = found
        }
        do {
            let candidates = try Converter.candidateMappings(checkpoint, family: nil)
            if let m = candidates.first {
                r.config = m.config
                r.stages = stages(m.config)
                var map: [String: String] = [:]
                for a in m.assignments { map[a.source] = a.transform == .identity ? a.canonical : "\(a.canonical) [\(a.transform)]" }
                r.mapping = map
                if !m.notes.isEmpty { r.decisions = m.notes }
                if let head = m.head, head.candidates.count != 1 {
                    // The chain's activations are not in the file: say what is, and what could be.
                    let list = head.candidates.map(HeadSpelling.spell).joined(separator: " | ")
                    r.decisions = (r.decisions ?? []) + ["classifier chain not stored in full (\(head.shape))"
                        + (list.isEmpty ? "" : "; plausible: \(list)") + "; convert with --head CHAIN or a reference pair"]
                }
                if candidates.count > 1 {
                    r.mappingProblem = "names fit \(candidates.map(\.family).joined(separator: " and ")); convert with --family or a reference pair"
                }
            }
        } catch {
            r.mappingProblem = "\(error)"
        }
        return r
    }

    static func stages(_ c: EfficientNetConfig) -> [Stage] {
        var out: [Stage] = []
        for b in c.blocks {
            if let last = out.last, last.stage == b.stage, last.kind == b.kind.rawValue {
                out[out.count - 1].blocks += 1
                out[out.count - 1].outChannels = b.outChannels
                if let se = b.seChannels { out[out.count - 1].seChannels.append(se) }
            } else {
                out.append(Stage(stage: b.stage, kind: b.kind.rawValue, blocks: 1, expandRatio: b.expandRatio, kernel: b.kernel, stride: b.stride,
                                 inChannels: b.inChannels, outChannels: b.outChannels, seChannels: b.seChannels.map { [$0] } ?? []))
            }
        }
        return out
    }

    public var json: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: enc.encode(self), as: UTF8.self)) ?? "{}"
    }

    public var text: String {
        var lines = ["file:        \(file)", "format:      \(format)"]
        for k in notes.keys.sorted() where k != "effw_config" {
            let v = notes[k]!
            if v.contains("\n") {
                // Multi-line summaries (e.g. torch_summary) print as an indented block.
                lines.append("note:        \(k):")
                lines += v.split(separator: "\n").map { "               \($0)" }
            } else {
                lines.append("note:        \(k): \(v.count > 200 ? String(v.prefix(200)) + "..." : v)")
            }
        }
        if let fams = detectedFamilies { lines.append("family:      " + (fams.isEmpty ? "none recognised" : fams.joined(separator: "; "))) }
        if let c = config {
            lines.append("model:       \(c.name): input \(c.inputChannels) ch, stem \(c.stem.outChannels), \(c.blocks.count) blocks, head \(c.headChannels), \(c.numClasses) classes")
            lines.append("conventions: BN eps \(c.bnEpsilon)\(c.batchNormFolded ? " (folded)" : ""), padding \(c.padding.mode.rawValue)\(c.padding.imageSize.map { " \($0)" } ?? ""), \(c.activation.rawValue)\(c.inputTransform != nil ? ", input transform" : "")\(c.finalSoftmax ? ", softmax output" : ", logits output")")
        }
        for d in decisions ?? [] { lines.append("decided:     \(d)") }
        if let stages {
            lines.append("stages:      stage kind   blocks expand kernel stride  in -> out  SE")
            for s in stages {
                let se = s.seChannels.isEmpty ? "-" : Array(Set(s.seChannels)).sorted().map(String.init).joined(separator: "/")
                lines.append(String(format: "             %5d %-6@ %6d %6d %6d %6d %4d -> %-4d %@", s.stage, s.kind, s.blocks, s.expandRatio, s.kernel, s.stride, s.inChannels, s.outChannels, se))
            }
        }
        if let p = provenance {
            lines.append("provenance:  \(p.sourceFile) (\(p.sourceFormat), family \(p.family)) by \(p.converter)\(p.createdAt.map { " at \($0)" } ?? "")")
            if let v = p.verification {
                lines.append("verified:    \(v.method): relative error \(v.relativeError) (tolerance \(v.tolerance)), top-1 agreement \(v.top1Agreement): \(v.passed ? "PASS" : "FAIL")")
            } else {
                lines.append("verified:    no")
            }
        }
        if let m = mappingProblem { lines.append("mapping:     \(m)") }
        lines.append("tensors:     \(tensors.count), \(parameterCount) parameters")
        for t in tensors {
            var l = "  \(t.name)  \(t.dtype) \(t.shape)"
            if let m = mapping?[t.name] { l += "  -> \(m)" }
            if let s = skipped[t.name] { l += "  (skipped: \(s))" }
            lines.append(l)
        }
        for (n, why) in skipped.sorted(by: { $0.key < $1.key }) where !tensors.contains(where: { $0.name == n }) {
            lines.append("  \(n)  (skipped: \(why))")
        }
        return lines.joined(separator: "\n")
    }
}

import EffNet
import Foundation

/// What a conversion did, for people (`text`) and scripts (`json`).
public struct ConversionReport: Sendable {
    public var source: String
    public var destination: String
    public var format: SourceFormat
    public var family: String
    public var config: EfficientNetConfig?
    /// Every source tensor's fate, in file order.
    public var fates: [(source: String, fate: TensorFate)] = []
    /// Verification of each candidate mapping tried (timm vs timm-tf), chosen one first.
    public var verifications: [(family: String, result: Verifier.Result)] = []
    /// Why nothing was verified, when nothing was.
    public var unverifiedReason: String?
    public var written = false
    public var notes: [String] = []
    /// What was written when DEST is a framework's file rather than an .effw.
    public var export: Converter.ExportSummary?

    public init(source: String, destination: String, format: SourceFormat, family: String) {
        self.source = source; self.destination = destination; self.format = format; self.family = family
    }

    /// The chosen candidate's worst comparison (largest relative error), nil when unverified.
    public var verification: Verifier.Result?
    /// Every comparison of the chosen candidate passed; nil when nothing verified.
    public var passed: Bool?

    public var text: String {
        var lines: [String] = []
        lines.append("source:      \(source) (\(format.rawValue))")
        lines.append("family:      \(family)")
        if let c = config {
            lines.append("model:       \(c.name): \(c.blocks.count) blocks, head \(c.headChannels), \(c.numClasses) classes, BN eps \(c.bnEpsilon), padding \(c.padding.mode.rawValue)\(c.padding.imageSize.map { " \($0)" } ?? ""), \(c.activation.rawValue)\(c.finalSoftmax ? ", softmax" : "")\(c.classifierChain.map { ", classifier \(HeadSpelling.describe($0))" } ?? "")")
        }
        let mapped = fates.filter { if case .mapped = $0.fate { return true } else { return false } }.count
        let skipped = fates.filter { if case .skipped = $0.fate { return true } else { return false } }.count
        lines.append("tensors:     \(mapped) mapped, \(skipped) skipped, \(fates.count - mapped - skipped) unused")
        // Skips that share a reason with many others (ONNX shape constants, num_batches_tracked)
        // collapse into one line each.
        var skipCounts: [String: Int] = [:]
        for (_, fate) in fates { if case let .skipped(reason) = fate { skipCounts[reason, default: 0] += 1 } }
        var collapsed = Set<String>()
        for (src, fate) in fates {
            switch fate {
            case let .mapped(canonical, transform):
                lines.append("  \(src) -> \(canonical)\(transform == .identity ? "" : " [\(transform)]")")
            case let .skipped(reason):
                let n = skipCounts[reason] ?? 1
                if n <= 3 {
                    lines.append("  \(src): skipped (\(reason))")
                } else if collapsed.insert(reason).inserted {
                    lines.append("  \(src) and \(n - 1) more: skipped (\(reason))")
                }
            case let .unused(reason): lines.append("  \(src): UNUSED (\(reason))")
            }
        }
        for (fam, r) in verifications {
            let c = r.comparison
            let noise = r.float32Noise.map { ", float32 noise ~\(fmt($0))" } ?? ""
            lines.append("verify:      \(r.method)\(verifications.count > 1 ? " as \(fam)" : ""), input \(r.inputShape): max abs error \(fmt(c.maxAbsError)), relative \(fmt(c.relativeError))\(noise) (tolerance \(fmt(r.tolerance))), top-1 agreement \(pct(c.top1Agreement)), top-5 \(pct(c.top5Agreement))\(r.seconds.map { String(format: ", %.2f s", $0) } ?? ""): \(r.passed ? "PASS" : "FAIL")")
            if let d = r.firstDivergence { lines.append("             first divergence: \(d)") }
        }
        if verifications.contains(where: { $0.result.float32Noise != nil }) {
            // What the noise figure means, once.
            lines.append("             (float32 noise: the fast float32 path against this float64 pass; an error near it is rounding, one far above it is real)")
        }
        if let u = unverifiedReason { lines.append("verify:      not verified: \(u)") }
        lines += notes.map { "note:        \($0)" }
        if let e = export {
            lines.append("export:      \(e.container.rawValue)\(e.family.map { " as \($0.rawValue)" } ?? "")")
            if let r = e.verification {
                lines.append("verify:      \(r.method), input \(r.inputShape): \(e.family == nil ? "" : "parameters bit-identical, ")relative error \(fmt(r.comparison.relativeError)) (tolerance \(fmt(r.tolerance))): \(r.passed ? "PASS" : "FAIL")")
            }
            lines.append("input:       \(e.inputConvention)")
            lines += e.notes.map { "note:        \($0)" }
        }
        lines.append(written ? "wrote:       \(destination)" : "wrote:       nothing")
        return lines.joined(separator: "\n")
    }

    private func fmt(_ v: Float) -> String { String(format: "%.3g", Double(v)) }
    private func pct(_ v: Float) -> String { String(format: "%.0f%%", Double(v) * 100) }
}

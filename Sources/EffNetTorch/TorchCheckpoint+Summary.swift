import EffNet

extension TorchCheckpoint {
    /// A human-readable account of what the file holds: container, wrapper keys, prefix, every
    /// state-dict tensor with dtype and shape, and what was skipped. For `effnet-inspect`.
    public var summary: String {
        var lines = headerLines
        let width = min(60, tensors.map(\.name.count).max() ?? 0)
        for t in tensors {
            let pad = String(repeating: " ", count: max(0, width - t.name.count))
            let layout = t.raw.isContiguous ? "" : "  strides \(t.raw.strides)"
            lines.append("  \(t.name)\(pad)  \(t.raw.dtype.torchName)  \(t.raw.shape)\(layout)")
        }
        for s in skipped { lines.append("  skipped \(s.name): \(s.reason)") }
        return lines.joined(separator: "\n")
    }

    /// The summary's first lines only (container, wrapper, prefix, classes, tensor counts).
    public var headerSummary: String { headerLines.joined(separator: "\n") }

    private var headerLines: [String] {
        var lines: [String] = []
        let order = notes["byteorder"].map { ", byte order \($0)" } ?? ""
        lines.append("PyTorch \(container == .zip ? "zip" : "legacy") archive, pickle protocol \(pickleProtocol)\(order)")
        if wrapperPath.isEmpty {
            lines.append("state dict: the top-level object")
        } else {
            lines.append("state dict: '\(wrapperPath.joined(separator: "."))'" + (siblingKeys.isEmpty ? "" : " (other keys: \(siblingKeys.joined(separator: ", ")))"))
        }
        if let p = strippedPrefix { lines.append("prefix stripped: \(p)") }
        if !opaqueClasses.isEmpty { lines.append("classes not loaded (never executed): \(opaqueClasses.joined(separator: ", "))") }
        var byType: [String: Int] = [:]
        var elements = 0
        for t in tensors {
            byType[t.raw.dtype.torchName, default: 0] += 1
            elements += t.raw.count
        }
        let types = byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("\(tensors.count) tensors (\(types)), \(elements) elements; \(skipped.count) skipped")
        return lines
    }
}

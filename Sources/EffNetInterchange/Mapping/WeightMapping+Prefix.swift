/// Checkpoints whose every tensor sits under one attribute of a wrapper module: a PyTorch
/// Lightning module's `self.model`, a user's `self.backbone`, ... The reader strips only the
/// prefixes it can name (`module.`, `_orig_mod.`); this strips any one shared first component,
/// but only when the names fit no family with it and fit one without it.
extension SourceCheckpoint {
    /// The first dotted component every tensor name shares ("model."), if there is one.
    public var sharedNamePrefix: String? {
        guard let first = tensors.first?.name, let dot = first.firstIndex(of: ".") else { return nil }
        let prefix = String(first[...dot])
        guard tensors.allSatisfy({ $0.name.hasPrefix(prefix) && $0.name.count > prefix.count }) else { return nil }
        return prefix
    }

    /// The same checkpoint with `prefix` removed from every tensor name.
    public func removingNamePrefix(_ prefix: String) -> SourceCheckpoint {
        var copy = self
        copy.tensors = tensors.map { SourceTensor(name: String($0.name.dropFirst(prefix.count)), raw: $0.raw) }
        return copy
    }
}

extension WeightMapping {
    /// The mapping with `prefix` put back in front of every source name, so that it applies to
    /// the checkpoint as the file spells it.
    public func prefixingSources(_ prefix: String) -> WeightMapping {
        var m = self
        m.assignments = assignments.map { .init(canonical: $0.canonical, source: prefix + $0.source, transform: $0.transform) }
        m.skipped = skipped.map { (prefix + $0.source, $0.reason) }
        m.notes.append("every tensor name starts with '\(prefix)' (e.g. a PyTorch Lightning module's attribute): matched without it")
        return m
    }
}

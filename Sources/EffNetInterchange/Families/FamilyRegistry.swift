import EffNet

/// Every name-based family, consulted in this order by `--family auto`.
public enum FamilyRegistry {
    public static var all: [ModelFamily.Type] {
        [
            // Families register here, one line each.
            SeedFamily.self,
            TorchvisionFamily.self,
            TimmFamily.self,
            TimmTFFamily.self,
            LukemelasFamily.self,
            LiteFamily.self,
            KerasFamily.self,
            HuggingFaceFamily.self,
            TFOfficialFamily.self,
        ]
    }

    public static func family(named name: FamilyName) -> ModelFamily.Type? {
        all.first { $0.name == name }
    }

    /// Families whose names and shapes fit, best first. Ties (same top score) are ambiguous.
    public static func detect(_ checkpoint: SourceCheckpoint) -> [FamilyDetection] {
        all.compactMap { $0.detect(checkpoint) }.sorted { $0.score > $1.score }
    }
}

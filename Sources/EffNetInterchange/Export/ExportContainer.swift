import Foundation

/// The kind of file (or folder) an export writes, decided by DEST's name alone (CONTRACT.md:
/// "DEST's container comes from its name"), never by what the source was.
public enum ExportContainer: String, Sendable, CaseIterable {
    /// EffNetKit's own file: canonical names, config, CRC-32s, provenance.
    case effw
    /// A PyTorch zip archive (`torch.save` of a state_dict): .pth, .pt, .bin.
    case torchArchive = "pytorch-zip"
    /// safetensors with the framework's names and `{"format": "pt"}`.
    case safetensors
    case onnx
    /// Keras 3 `model.save_weights("x.weights.h5")`.
    case kerasWeightsH5 = "keras-weights-h5"
    /// The Keras 2 / tf_keras weights layout (.h5).
    case kerasH5 = "keras-h5"
    /// A model-hub folder: config.json beside model.safetensors (timm, transformers).
    case hubFolder = "folder"

    /// What users may name DEST, for the error that refuses any other name.
    public static let spellings = ".effw, .pth / .pt / .bin, .safetensors, .onnx, .weights.h5, .h5, or a folder (an existing folder, or a name ending in '/' or without an extension)"

    /// The container DEST's name asks for; nil when it names none.
    public static func of(destination: String) -> ExportContainer? {
        var isFolder: ObjCBool = false
        if destination.hasSuffix("/") || (FileManager.default.fileExists(atPath: destination, isDirectory: &isFolder) && isFolder.boolValue) {
            return .hubFolder
        }
        let name = (destination as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".weights.h5") { return .kerasWeightsH5 }
        switch (name as NSString).pathExtension {
        case "effw": return .effw
        case "pth", "pt", "bin": return .torchArchive
        case "safetensors": return .safetensors
        case "onnx": return .onnx
        case "h5": return .kerasH5
        case "": return name.isEmpty || name.hasPrefix(".") ? nil : .hubFolder
        default: return nil
        }
    }

    /// The families whose files this container holds; empty for containers no family decides
    /// (.effw keeps canonical names, ONNX is a graph).
    public var families: [FamilyName] {
        switch self {
        case .effw, .onnx: return []
        case .torchArchive, .safetensors: return TorchExport.families
        case .kerasWeightsH5, .kerasH5: return [.keras]
        case .hubFolder: return [.timm, .timmTF, .hf]
        }
    }

    /// The family a container implies when `--to` is not given (the Keras files); nil where
    /// `--to` must say.
    public var impliedFamily: FamilyName? {
        families.count == 1 ? families[0] : nil
    }
}

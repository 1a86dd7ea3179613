import EffNet
import Foundation

/// Model-hub layouts: a folder holding `config.json` beside `model.safetensors` or
/// `pytorch_model.bin` (transformers' `save_pretrained`, timm's `save_for_hf`), or a single
/// weights file with a `config.json` beside it. The weights are read as usual; the JSON files
/// travel in the checkpoint's notes (validated as JSON objects, size-bounded) for the families
/// that understand them (`HuggingFaceFamily`, the timm families).
extension SourceReader {
    public enum HubNotes {
        /// config.json, as stored.
        public static let config = "hub_config_json"
        /// preprocessor_config.json (transformers' image processor), as stored.
        public static let preprocessor = "hub_preprocessor_config_json"
        /// The folder given as SOURCE.
        public static let folder = "hub_folder"
        /// Why a config.json beside a weights file (not a hub folder) was not used.
        public static let ignored = "hub_config_ignored"
    }

    /// Weights files a hub folder may hold, in order of preference.
    static let hubWeightFiles = ["model.safetensors", "pytorch_model.bin"]
    /// Bound on config.json and preprocessor_config.json (real ones are a few KB; ImageNet-21k
    /// label maps reach ~1 MB).
    static let maxHubConfigBytes = 8 << 20

    /// The weights file of a hub folder.
    /// - Throws: `SourceError.unrecognised` naming the folder when it holds none.
    static func hubWeights(inFolder folder: String) throws -> String {
        let fm = FileManager.default
        for name in hubWeightFiles {
            let p = (folder as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { return p }
        }
        throw SourceError.unrecognisedFolder(path: folder, expected: hubWeightFiles)
    }

    /// Puts config.json and preprocessor_config.json from the folder of `weights` into the notes.
    /// - Throws: `SourceError.hubConfig` naming the file when one exists but is too large or not
    ///   a JSON object.
    static func attachHubConfigs(_ checkpoint: inout SourceCheckpoint, beside weights: String) throws {
        let folder = (weights as NSString).deletingLastPathComponent
        for (file, key) in [("config.json", HubNotes.config), ("preprocessor_config.json", HubNotes.preprocessor)] {
            let p = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(file)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: p)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxHubConfigBytes else {
                throw SourceError.hubConfig(path: p, detail: "\(size) bytes, more than the \(maxHubConfigBytes) a model config may have")
            }
            guard let data = FileManager.default.contents(atPath: p) else {
                throw SourceError.hubConfig(path: p, detail: "cannot be read")
            }
            guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                throw SourceError.hubConfig(path: p, detail: "not a JSON object")
            }
            checkpoint.notes[key] = String(decoding: data, as: UTF8.self)
        }
    }

    /// config.json of a checkpoint, parsed (nil when it had none).
    public static func hubConfig(of checkpoint: SourceCheckpoint) -> [String: Any]? {
        guard let text = checkpoint.notes[HubNotes.config] else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}

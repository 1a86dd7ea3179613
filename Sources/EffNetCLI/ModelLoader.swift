import EffNet
import EffNetInterchange
import Foundation

/// The model a tool runs, from an .effw or from any source converted in memory.
public enum ModelLoader {
    public struct Loaded {
        public var model: EfficientNet
        /// "effw", or the source format ("pytorch-zip", "safetensors", ...).
        public var format: String
        public var family: String?
        /// The classes' names, when the file names them.
        public var classNames: [String]?
    }

    /// An .effw loads as written (checksums, version); any other source goes through the
    /// converter's reading and mapping, in memory.
    /// - Throws: the readers' errors, each naming the file; `MappingError` naming `--family`
    ///   when the names fit several families.
    public static func load(_ path: String, family: FamilyName? = nil, checkpointKey: String? = nil,
                            allowNonFinite: Bool = false) throws -> Loaded {
        var isDirectory: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            // Folders (model-hub layouts, TF checkpoints) are sources; a file may be an .effw.
            let file = try MappedFile(path: path)
            if file.count > 0, try FormatSniffer.kind(of: file) == .safetensors {
                let st = try EffwFile(path: path)
                if st.isEffw {
                    let model = try EfficientNet(contentsOf: URL(fileURLWithPath: path), allowNonFinite: allowNonFinite)
                    return Loaded(model: model, format: "effw", family: model.provenance?.family,
                                  classNames: try st.classNames(classes: model.config.numClasses))
                }
            }
        }
        let weights = try Converter.canonicalWeights(source: path, family: family, read: .init(checkpointKey: checkpointKey),
                                                     allowNonFinite: allowNonFinite)
        return Loaded(model: try weights.model(), format: weights.format.rawValue, family: weights.family,
                      classNames: weights.classNames)
    }
}

import EffNet
import ZipArchive

/// A Keras 3 `.keras` archive: a zip holding `config.json`, `metadata.json` and
/// `model.weights.h5`. The weights are opened from memory (see `HDF5File(image:name:)`):
/// stored entries are views into the mapped archive, deflated ones are inflated once.
public enum KerasArchive {
    /// The entry names Keras writes.
    public static let configEntry = "config.json"
    public static let metadataEntry = "metadata.json"
    public static let weightsEntry = "model.weights.h5"

    /// True when `archive` looks like a .keras file (it holds `model.weights.h5` or `config.json`
    /// next to `metadata.json`).
    public static func isKerasArchive(_ archive: ZipArchive) -> Bool {
        archive.entry(named: weightsEntry) != nil || (archive.entry(named: configEntry) != nil && archive.entry(named: metadataEntry) != nil)
    }

    /// Reads the archive's weights with its config.
    /// - Throws: `ZipError` for a damaged zip, `KerasFormatError.archive` when an entry is
    ///   missing or config.json is not UTF-8 JSON, and what `KerasWeightsReader` throws for the
    ///   weights.
    public static func read(_ archive: ZipArchive) throws -> KerasWeightsFile {
        let path = archive.path
        guard let weightsEntry = archive.entry(named: weightsEntry) else {
            if archive.entry(named: "model.weights.json") != nil {
                throw KerasFormatError.archive(file: path, detail: "sharded weights (model.weights.json) are not supported")
            }
            throw KerasFormatError.archive(file: path, detail: "no \(Self.weightsEntry) entry")
        }
        var config: String? = nil
        if let entry = archive.entry(named: configEntry) {
            let bytes = try archive.data(for: entry)
            guard let text = String(validating: bytes.bytes, as: UTF8.self) else {
                throw KerasFormatError.archive(file: path, detail: "\(configEntry) is not UTF-8 text")
            }
            do { _ = try KerasModelConfig(json: text, source: "\(path)!\(configEntry)") } catch let e as KerasJSONError {
                throw KerasFormatError.archive(file: path, detail: e.description)
            }
            config = text
        }
        var version: String? = nil
        if let entry = archive.entry(named: metadataEntry), let text = String(validating: try archive.data(for: entry).bytes, as: UTF8.self),
           let json = try? KerasJSON.parse(text, source: metadataEntry) {
            version = json["keras_version"]?.string
        }
        let image = try archive.data(for: weightsEntry)
        let file = try HDF5File(image: image, name: "\(path)!\(Self.weightsEntry)")
        var result = try KerasWeightsReader.read(file, config: config)
        result.path = path
        result.kerasVersion = result.kerasVersion ?? version
        return result
    }
}

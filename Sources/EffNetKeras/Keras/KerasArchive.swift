import EffNet
import Foundation
import EffNetZip

/// A Keras 3 `.keras` archive: a zip holding `config.json`, `metadata.json` and
/// `model.weights.h5`. A stored weights entry is opened in place as an HDF5 image (a view into
/// the mapped archive, `HDF5File(image:name:)`); a deflated one is inflated through a 1 MiB
/// buffer into a private temporary file in $TMPDIR (`ScratchFile`, unlinked once libhdf5 has
/// opened it) that libhdf5 reads with its ordinary file driver, so the weights never sit in memory. Sizes are bounded before any work:
/// - the weights entry at `maxWeightsBytes` (default 2 GiB, four times EfficientNetV2-L's
///   float32 weights; EFFNET_KERAS_MAX_WEIGHTS_MB raises it, and reaches the contained reader);
/// - config.json and metadata.json at `maxConfigBytes` (16 MiB; an EfficientNet config is
///   ~100-400 KB), and config.json's nesting at 512 levels.
public enum KerasArchive {
    /// The entry names Keras writes.
    public static let configEntry = "config.json"
    public static let metadataEntry = "metadata.json"
    public static let weightsEntry = "model.weights.h5"

    /// Largest uncompressed weights entry accepted by default (see the type's documentation).
    public static let defaultMaxWeightsBytes = 2 << 30
    /// Largest config.json / metadata.json accepted.
    public static let maxConfigBytes = 16 << 20

    /// The weights cap in effect: EFFNET_KERAS_MAX_WEIGHTS_MB (megabytes) or the default.
    public static var maxWeightsBytes: Int {
        if let s = ProcessInfo.processInfo.environment["EFFNET_KERAS_MAX_WEIGHTS_MB"], let mb = Int(s), mb > 0 {
            return mb >= Int.max >> 20 ? Int.max : mb << 20
        }
        return defaultMaxWeightsBytes
    }

    /// True when `archive` looks like a .keras file (it holds `model.weights.h5` or `config.json`
    /// next to `metadata.json`).
    public static func isKerasArchive(_ archive: ZipArchive) -> Bool {
        archive.entry(named: weightsEntry) != nil || (archive.entry(named: configEntry) != nil && archive.entry(named: metadataEntry) != nil)
    }

    /// True when `archive` is meant as a .keras file even if it is broken: it has one of the
    /// entries Keras writes (also under another folder, `../model.weights.h5`) and no PyTorch
    /// `data.pkl`. Such archives get Keras's error messages, not PyTorch's.
    public static func looksLikeKerasArchive(_ archive: ZipArchive) -> Bool {
        if isKerasArchive(archive) { return true }
        let names = archive.entries.map(\.name)
        if names.contains(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) { return false }
        return names.contains { n in
            [weightsEntry, configEntry, metadataEntry].contains { n == $0 || n.hasSuffix("/" + $0) }
        }
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
            if let elsewhere = archive.entries.first(where: { $0.name.hasSuffix("/" + Self.weightsEntry) }) {
                throw KerasFormatError.archive(file: path, detail: "no \(Self.weightsEntry) entry at the archive's top level (found '\(elsewhere.name)', which Keras does not write; entry names are never used as paths)")
            }
            throw KerasFormatError.archive(file: path, detail: "no \(Self.weightsEntry) entry (a .keras archive holds the weights as \(Self.weightsEntry))")
        }
        for entry in [configEntry, metadataEntry].compactMap(archive.entry(named:)) where entry.uncompressedSize > maxConfigBytes {
            throw KerasFormatError.archive(file: path, detail: "\(entry.name) is \(entry.uncompressedSize) bytes, over the \(maxConfigBytes >> 20) MiB limit (an EfficientNet config is a few hundred KB)")
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
        let name = "\(path)!\(Self.weightsEntry)"
        let file: HDF5File
        let cap = maxWeightsBytes
        let capReason = "the .keras weights limit (\(cap >> 20) MiB); set EFFNET_KERAS_MAX_WEIGHTS_MB to raise it"
        if case .stored = weightsEntry.method {
            guard weightsEntry.uncompressedSize <= cap else {
                throw ZipError.sizeLimitExceeded(path: path, entry: weightsEntry.name, declared: weightsEntry.uncompressedSize,
                                                 limit: cap, reason: capReason)
            }
            file = try HDF5File(image: try archive.data(for: weightsEntry), name: name)
        } else {
            let scratch = try ScratchFile()
            try archive.extract(weightsEntry, to: scratch.fd, scratchName: "\(name) (a temporary file in $TMPDIR)",
                                maxSize: cap, limitReason: capReason)
            // libhdf5 opens its own descriptor: the bytes live until that one closes.
            file = try HDF5File(path: scratch.path, name: name)
            scratch.removeName()
        }
        var result = try KerasWeightsReader.read(file, config: config)
        result.path = path
        result.kerasVersion = result.kerasVersion ?? version
        return result
    }
}

import EffNet
import EffNetTorch
import EffNetTF

/// Recognises a file's format from its first bytes, never from its extension.
public enum FormatSniffer {
    public enum Kind: Equatable, Sendable {
        case zip          // PyTorch zip archive or .keras archive: the entries decide
        case torchLegacy
        case hdf5
        case onnx
        case safetensors  // .effw or plain safetensors
        case tfCheckpointIndex  // a TensorFlow checkpoint's .index table (LevelDB footer magic)
    }

    /// - Throws: `SourceError.unrecognised` naming the file when nothing matches.
    public static func kind(of file: MappedFile) throws -> Kind {
        let b = file.bytes
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            guard b.count >= offset + prefix.count else { return false }
            for (i, p) in prefix.enumerated() where b[offset + i] != p { return false }
            return true
        }
        if starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06]) { return .zip }
        // HDF5 superblock signature at 0 or a power-of-two user-block offset.
        let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
        var off = 0
        while off + 8 <= b.count && off <= 1 << 20 {
            if starts(hdf5, at: off) { return .hdf5 }
            off = off == 0 ? 512 : off * 2
        }
        // Legacy torch: a pickle of the magic number 0x1950a86a20f9469cfc6c (protocol 2: 0x80 0x02,
        // LONG1 with 10 bytes: 0x8a 0x0a; other protocols through the reader's own check).
        if starts([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])
            || TorchCheckpoint.isLegacyArchive(b) { return .torchLegacy }
        // safetensors: u64 header length, then '{'.
        if b.count >= 9, b[8] == UInt8(ascii: "{") {
            var r = ByteReader(b)
            if let n = try? r.readInteger(as: UInt64.self), n >= 2, n <= UInt64(b.count - 8) { return .safetensors }
        }
        // TensorFlow checkpoint index: a LevelDB table, whose footer ends in its magic number.
        if b.count >= TableReader.footerSize,
           b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self).littleEndian == TableReader.magic {
            return .tfCheckpointIndex
        }
        // ONNX ModelProto: starts with field 1 (ir_version, varint: 0x08) in practice; exporters
        // always write ir_version first.
        if b.count >= 2, b[0] == 0x08 { return .onnx }
        throw SourceError.unrecognised(path: file.path)
    }
}

public enum SourceError: Error, Equatable, CustomStringConvertible {
    case unrecognised(path: String)
    case notYetSupported(path: String, format: String)
    case empty(path: String)
    /// A folder given as SOURCE that holds no weights file of a known layout.
    case unrecognisedFolder(path: String, expected: [String])
    /// A hub config.json or preprocessor_config.json that cannot be used.
    case hubConfig(path: String, detail: String)

    public var description: String {
        switch self {
        case let .unrecognised(path):
            return "\(path): not a PyTorch, Keras, ONNX, safetensors, TensorFlow checkpoint or .effw file (unrecognised content)"
        case let .notYetSupported(path, format): return "\(path): \(format) files are not supported yet"
        case let .empty(path): return "\(path): file is empty"
        case let .unrecognisedFolder(path, expected):
            return "\(path): a directory without model weights (a model-hub folder holds \(expected.joined(separator: " or ")) beside its config.json; a TensorFlow checkpoint folder its checkpoint file or .index)"
        case let .hubConfig(path, detail): return "\(path): \(detail)"
        }
    }
}

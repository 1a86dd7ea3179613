import EffNet
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a contained child hands its `SourceCheckpoint` to the parent: an .effw file whose tensors
/// are named "t0", "t1", ... in checkpoint order (source names may repeat or be empty, .effw
/// names may not), with the real names, format, notes and skipped entries as JSON in the
/// metadata. The parent trusts none of it: the .effw reader checks offsets, sizes and CRC-32s.
enum ContainedResult {
    static let formatKey = "contained.format"
    static let namesKey = "contained.names"
    static let notesKey = "contained.notes"
    static let skippedKey = "contained.skipped"

    /// - Throws: `ContainedReadError.notContainable` for checkpoints carrying closures; what
    ///   `EffwWriter` throws.
    static func encode(_ checkpoint: SourceCheckpoint, to path: String) throws {
        guard checkpoint.selfMapping == nil, checkpoint.reference == nil else {
            throw ContainedReadError.notContainable(path: checkpoint.path)
        }
        let entries = checkpoint.tensors.enumerated().map { i, t in
            EffwWriter.Entry(name: "t\(i)", dtype: t.raw.dtype, shape: t.raw.shape) { body in
                if let bytes = t.raw.contiguousBytes { try body(bytes) } else { try gather(t.raw).withUnsafeBytes { try body($0) } }
            }
        }
        let metadata: [String: String] = [
            formatKey: checkpoint.format.rawValue,
            namesKey: try json(checkpoint.tensors.map(\.name)),
            notesKey: try json(checkpoint.notes),
            skippedKey: try json(checkpoint.skipped.map { [$0.name, $0.reason] }),
        ]
        try EffwWriter.write(entries: entries, metadata: metadata, to: path, overwrite: true)
    }

    /// - Throws: `ContainedReadError.badResult` when the child's file is not what `encode` writes.
    static func decode(resultPath: String, sourcePath: String, library: String) throws -> SourceCheckpoint {
        func bad(_ detail: String) -> ContainedReadError {
            .badResult(path: sourcePath, library: library, detail: detail)
        }
        let file: EffwFile
        do { file = try EffwFile(path: resultPath, verifyChecksums: true) } catch { throw bad("\(error)") }
        // The map stays valid after the name goes; the folder is removed by the caller.
        unlink(resultPath)
        guard let formatName = file.metadata[formatKey], let format = SourceFormat(rawValue: formatName) else {
            throw bad("no or unknown format")
        }
        guard let names = file.metadata[namesKey].flatMap({ decodeJSON([String].self, $0) }),
              names.count == file.entries.count else { throw bad("tensor names do not match the tensors") }
        let notes = file.metadata[notesKey].flatMap { decodeJSON([String: String].self, $0) } ?? [:]
        let skippedPairs = file.metadata[skippedKey].flatMap { decodeJSON([[String]].self, $0) } ?? []
        var tensors: [SourceTensor] = []
        tensors.reserveCapacity(names.count)
        for (i, name) in names.enumerated() {
            do { tensors.append(SourceTensor(name: name, raw: try file.rawTensor("t\(i)"))) } catch { throw bad("\(error)") }
        }
        let skipped = skippedPairs.compactMap { $0.count == 2 ? (name: $0[0], reason: $0[1]) : nil }
        return SourceCheckpoint(path: sourcePath, format: format, tensors: tensors, skipped: skipped, notes: notes)
    }

    /// A row-major little-endian copy of a strided or big-endian view.
    static func gather(_ raw: RawTensor) -> [UInt8] {
        let size = raw.dtype.size
        let count = raw.shape.reduce(1, *)
        var out = [UInt8](repeating: 0, count: count * size)
        guard count > 0 else { return out }
        let src = raw.storage.bytes
        let rank = raw.shape.count
        var index = [Int](repeating: 0, count: rank)
        var position = raw.offset
        out.withUnsafeMutableBytes { dst in
            for k in 0 ..< count {
                for b in 0 ..< size {
                    dst[k * size + b] = src[position * size + (raw.bigEndian ? size - 1 - b : b)]
                }
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    position += raw.strides[d]
                    if index[d] < raw.shape[d] { break }
                    position -= raw.strides[d] * raw.shape[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

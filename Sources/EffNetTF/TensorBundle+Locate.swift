#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TensorBundle {
    /// The checkpoint prefix a user's SOURCE names, or nil when it names no TensorFlow checkpoint.
    /// All of these are the same checkpoint:
    ///
    ///     dir/                       with a `checkpoint` file: its model_checkpoint_path
    ///     dir/                       a SavedModel: saved_model.pb + variables/variables.index
    ///     dir/                       holding exactly one PREFIX.index (tf.train.Checkpoint.write)
    ///     dir/model.ckpt-12000       the prefix
    ///     dir/model.ckpt-12000.index the index
    ///     dir/model.ckpt-12000.data-00000-of-00001   a data shard
    ///
    /// - Throws: `TFCheckpointError.notACheckpoint` for a folder whose `checkpoint` file names a
    ///   prefix that does not exist, or that cannot be parsed.
    public static func prefix(forSource path: String) throws -> String? {
        if isDirectory(path) {
            let dir = path.hasSuffix("/") ? String(path.dropLast()) : path
            if isFile("\(dir)/checkpoint") {
                return try prefix(fromStateFile: "\(dir)/checkpoint", directory: dir)
            }
            if isFile("\(dir)/variables/variables.index") { return "\(dir)/variables/variables" }
            // A folder holding one checkpoint and no state file (tf.train.Checkpoint.write).
            let indexes = listDirectory(dir).filter { $0.hasSuffix(".index") && isFile("\(dir)/\($0)") }
            if indexes.count == 1 { return "\(dir)/\(indexes[0].dropLast(".index".count))" }
            return nil
        }
        if path.hasSuffix(".index"), isFile(path) { return String(path.dropLast(".index".count)) }
        if !exists(path), isFile(path + ".index") { return path }
        if let range = path.range(of: ".data-", options: .backwards), isFile(path) {
            let tail = path[range.upperBound...]  // "00000-of-00001"
            if tail.count == 14, tail.dropFirst(5).hasPrefix("-of-"), tail.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "o" || $0 == "f" }) {
                let prefix = String(path[..<range.lowerBound])
                if isFile(prefix + ".index") { return prefix }
            }
        }
        return nil
    }

    /// The prefix a `checkpoint` state file (a CheckpointState text proto) names. A relative path
    /// is relative to the folder; an absolute one that no longer exists (the folder was moved or
    /// copied from another machine) is looked up by its last component in the folder, as
    /// TensorFlow's `get_checkpoint_state` does.
    static func prefix(fromStateFile file: String, directory: String) throws -> String {
        guard let text = readSmallText(file, limit: 1 << 20) else {
            throw TFCheckpointError.notACheckpoint(path: file, detail: "cannot read the checkpoint state file")
        }
        for line in text.split(whereSeparator: \.isNewline) {
            let l = line.trimmingCharacters(in: " \t")
            guard l.hasPrefix("model_checkpoint_path:") else { continue }
            let value = l.dropFirst("model_checkpoint_path:".count).trimmingCharacters(in: " \t")
            guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { break }
            let named = String(value.dropFirst().dropLast())
            var candidates = [named.hasPrefix("/") ? named : "\(directory)/\(named)"]
            if let last = named.split(separator: "/").last { candidates.append("\(directory)/\(last)") }
            for c in candidates where isFile(c + ".index") { return c }
            throw TFCheckpointError.notACheckpoint(path: file, detail: "model_checkpoint_path \"\(named)\" names no checkpoint (no \(candidates[0]).index)")
        }
        throw TFCheckpointError.notACheckpoint(path: file, detail: "no model_checkpoint_path line")
    }

    /// The names in a folder (at most 10,000: a checkpoint folder holds a handful).
    static func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while names.count < 10_000, let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// A small text file's contents, nil when unreadable or larger than `limit`.
    static func readSmallText(_ path: String, limit: Int) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n == 0 { break }
            bytes += buffer[0 ..< n]
            if bytes.count > limit { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

import EffNet
import Foundation

/// Writes a model-hub folder: the weights file (written, verified and committed atomically by
/// the caller's closure) and the JSON files beside it. A folder that did not exist is created
/// and, on any failure, removed again; in an existing folder no file is replaced without
/// `overwrite`, and the files a failed export added are removed (a replaced one stays replaced).
struct HubFolderWriter {
    let destination: String
    let overwrite: Bool

    func write(files: [(name: String, text: String)], weights: String, writeWeights: (String) throws -> Void) throws {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        let existed = fm.fileExists(atPath: destination, isDirectory: &isFolder)
        if existed && !isFolder.boolValue { throw FileError.exists(path: destination) }
        let paths = ([weights] + files.map(\.name)).map { (destination as NSString).appendingPathComponent($0) }
        if existed && !overwrite, let taken = paths.first(where: { fm.fileExists(atPath: $0) }) {
            throw FileError.exists(path: taken)
        }
        if !existed {
            do { try fm.createDirectory(atPath: destination, withIntermediateDirectories: false) } catch {
                throw FileError.cannotWrite(path: destination, reason: "cannot create the folder (\(error.localizedDescription))")
            }
        }
        // Files this export adds (not ones it replaces with --force) go again if it fails.
        let added = Set(paths.filter { !fm.fileExists(atPath: $0) })
        var committed: [String] = []
        do {
            try writeWeights(paths[0])
            committed.append(paths[0])
            for (file, path) in zip(files, paths.dropFirst()) {
                try AtomicFileWriter(destination: path, overwrite: overwrite).write { sink in try sink.write(Array(file.text.utf8)) }
                committed.append(path)
            }
        } catch {
            // Nothing half-written stays: files this export added go, and the folder if it made it.
            for p in committed where added.contains(p) { try? fm.removeItem(atPath: p) }
            if !existed { try? fm.removeItem(atPath: destination) }
            throw error
        }
    }
}

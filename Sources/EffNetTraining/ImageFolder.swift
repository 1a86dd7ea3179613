import EffNet
import Foundation
import EffNetImage

/// A folder of labelled images in torchvision's ImageFolder layout: one subfolder per class
/// (searched recursively), classes in sorted order (by Unicode code points, as Python sorts
/// names), files in sorted order within a class. Files whose content is not JPEG or PNG are
/// listed in `skipped` (to be reported) and left out; images that are damaged are found when
/// decoded, not here.
public struct ImageFolder: Sendable {
    public struct Sample: Sendable, Equatable {
        public var path: String
        /// Path below the root ("cat/0001.jpg"), used for the digest and in messages.
        public var relativePath: String
        public var label: Int
    }

    public let root: String
    public let classes: [String]
    public let samples: [Sample]
    /// Files left out, with the reason.
    public let skipped: [(path: String, reason: String)]

    /// Most files accepted in one folder tree (a bound on what a mistaken DATA_DIR can make us hold).
    public static let maxFiles = 10_000_000

    /// Scans `root`.
    /// - Parameters:
    ///   - classes: the class names to use (a validation folder takes the training folder's); nil
    ///     takes the subfolders found. With given classes, every subfolder must be one of them.
    ///   - excluding: subfolder names that are not classes (e.g. "val" beside the classes).
    /// - Throws: `TrainingError` when root is not a readable folder, has fewer than two classes,
    ///   has a class without images or an unknown class.
    public init(root: String, classes given: [String]? = nil, excluding: Set<String> = []) throws {
        self.root = root
        let fm = FileManager.default
        guard Self.isDirectory(root) else { throw TrainingError("\(root): not a folder") }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: root) } catch { throw TrainingError("\(root): cannot list the folder: \(error.localizedDescription)") }
        let found = Self.sorted(names.filter { !excluding.contains($0) && Self.isDirectory(Self.join(root, $0)) })
        let classes: [String]
        if let given {
            if let unknown = found.first(where: { !given.contains($0) }) {
                throw TrainingError("\(Self.join(root, unknown)): class '\(unknown)' is not among the training classes (\(given.joined(separator: ", ")))")
            }
            classes = given
        } else {
            guard found.count >= 2 else {
                throw TrainingError("\(root): \(found.count) class folder\(found.count == 1 ? "" : "s") found, at least two are needed (one subfolder of images per class)")
            }
            classes = found
        }
        var samples: [Sample] = [], skipped: [(path: String, reason: String)] = []
        for (label, name) in classes.enumerated() where found.contains(name) {
            let dir = Self.join(root, name)
            var count = 0
            for rel in try Self.files(under: dir) {
                let path = Self.join(dir, rel)
                if let reason = Self.notAnImage(path) {
                    skipped.append((path, reason))
                    continue
                }
                samples.append(Sample(path: path, relativePath: "\(name)/\(rel)", label: label))
                count += 1
                guard samples.count + skipped.count <= Self.maxFiles else { throw TrainingError("\(root): more than \(Self.maxFiles) files") }
            }
            if count == 0 { throw TrainingError("\(dir): class '\(name)' has no JPEG or PNG images") }
        }
        self.classes = classes
        self.samples = samples
        self.skipped = skipped
    }

    /// The training and validation folders of DATA_DIR: when it has a `val/` subfolder, that
    /// holds the validation images (in class subfolders) and the training images are in `train/`
    /// when there is one, else in DATA_DIR's other subfolders; otherwise there is no validation
    /// folder (the caller splits).
    public static func trainingAndValidation(_ root: String) throws -> (train: ImageFolder, validation: ImageFolder?) {
        let val = join(root, "val")
        guard isDirectory(root), isDirectory(val) else { return (try ImageFolder(root: root), nil) }
        let trainRoot = join(root, "train")
        let train = isDirectory(trainRoot) ? try ImageFolder(root: trainRoot) : try ImageFolder(root: root, excluding: ["val"])
        return (train, try ImageFolder(root: val, classes: train.classes))
    }

    /// A SHA-256 over every sample's relative path, label and bytes, in order.
    /// - Throws: `TrainingError` when a file cannot be read.
    public func digest() throws -> String {
        var h = SHA256()
        for s in samples {
            h.update(Array(s.relativePath.utf8) + [0] + Array(classes[s.label].utf8) + [0])
            let file: MappedFile
            do { file = try MappedFile(path: s.path) } catch { throw TrainingError("\(error)") }
            var n = UInt64(file.count).littleEndian
            withUnsafeBytes(of: &n) { h.update($0) }
            h.update(file.bytes)
        }
        return h.finalize()
    }

    /// Why the file is left out (nil when it starts like a JPEG or PNG).
    static func notAnImage(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "cannot be opened" }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        let format = head.withUnsafeBytes { ImageFormat.sniff($0) }
        return format == nil ? "not a JPEG or PNG image" : nil
    }

    /// Regular files below `dir`, relative, in sorted order (depth first, as os.walk sorted).
    static func files(under dir: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch { throw TrainingError("\(dir): cannot list the folder: \(error.localizedDescription)") }
        var out: [String] = []
        for name in sorted(names) {
            let path = join(dir, name)
            if isDirectory(path) {
                out += try files(under: path).map { "\(name)/\($0)" }
            } else {
                out.append(name)
            }
        }
        return out
    }

    /// Names in Python's order (code point by code point), which String's `<` does not promise.
    static func sorted(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) { $0.value < $1.value } }
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }

    static func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
}

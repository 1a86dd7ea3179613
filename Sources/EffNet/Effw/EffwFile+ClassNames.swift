import Foundation

extension EffwKeys {
    /// JSON array of the class names, in class-index order (written by effnet-finetune).
    public static let classNames = "effw.classes"
    /// JSON: how a fine-tuned model's head was trained (see Schemas/effw.md).
    public static let finetune = "effw.finetune"
}

extension EffwFile {
    /// The class names stored under `effw.classes`, or nil when the file has none.
    /// - Throws: `EffwError` when the entry is not a JSON array of strings or its length is
    ///   not `classes`.
    public func classNames(classes: Int) throws -> [String]? {
        guard let s = metadata[EffwKeys.classNames] else { return nil }
        guard let names = try? JSONDecoder().decode([String].self, from: Data(s.utf8)) else {
            throw EffwError(path, "\(EffwKeys.classNames) is not a JSON array of strings")
        }
        guard names.count == classes else {
            throw EffwError(path, "\(EffwKeys.classNames) has \(names.count) names for \(classes) classes")
        }
        return names
    }
}

/// What can be wrong with a PyTorch checkpoint beyond its pickle (`PickleError`) and its zip
/// container (`ZipError`). Every case names the file; most name the entry, key or tensor.
public enum TorchError: Error, Equatable, CustomStringConvertible {
    /// A zip that is not a torch.save archive (no `<prefix>/data.pkl`).
    case notATorchArchive(path: String, detail: String)
    /// A torch.jit.save archive: it holds code, which this reader never runs.
    case torchScript(path: String)
    /// The legacy format's header pickles are not what torch writes.
    case badLegacyHeader(path: String, offset: Int, detail: String)
    /// A persistent id that is not a torch storage reference.
    case invalidPersistentID(path: String, offset: Int, detail: String)
    /// A storage's bytes: missing, of the wrong size, or outside the file.
    case storage(path: String, key: String, detail: String)
    /// A state-dict tensor whose view does not fit its storage, or whose dtype cannot be held.
    case tensor(path: String, name: String, detail: String)
    /// `torch.save(model)` of a whole nn.Module: restoring it would mean running its class.
    case pickledModule(path: String, key: String, className: String)
    /// A value of a non-allowlisted class where the converter needs tensors.
    case unsupportedGlobal(path: String, key: String, global: String)
    /// No state dict could be found in the object the file holds.
    case noStateDict(path: String, detail: String)

    public var description: String {
        switch self {
        case let .notATorchArchive(path, detail):
            return "\(path): not a PyTorch archive: \(detail)"
        case let .torchScript(path):
            return "\(path): a TorchScript archive (torch.jit.save); it holds code, which is never run. Save model.state_dict() with torch.save instead"
        case let .badLegacyHeader(path, offset, detail):
            return "\(path): legacy PyTorch header at offset \(offset): \(detail)"
        case let .invalidPersistentID(path, offset, detail):
            return "\(path): persistent id at offset \(offset): \(detail)"
        case let .storage(path, key, detail):
            return "\(path): storage '\(key)': \(detail)"
        case let .tensor(path, name, detail):
            return "\(path): tensor '\(name)': \(detail)"
        case let .pickledModule(path, key, className):
            return "\(path): '\(key)' is a pickled module object (\(className)); pickled module objects are not supported, save model.state_dict() instead"
        case let .unsupportedGlobal(path, key, global):
            return "\(path): '\(key)' holds an object of class \(global), which is not allowed in a state dict (it was not executed)"
        case let .noStateDict(path, detail):
            return "\(path): no state dict found: \(detail)"
        }
    }
}

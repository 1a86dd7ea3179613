import EffNet

/// Collects the storages a torch pickle declares through persistent ids and turns each id into a
/// `.storage` node. Zip format: `('storage', StorageType, key, location, numel)`; legacy format:
/// `('storage', StorageType, root_key, location, numel, view_metadata)` and
/// `('module', type, source_file, source)` for pickled modules (refused).
final class TorchPersistentLoader {
    let path: String
    let legacy: Bool
    /// The first declaration of each root key, as torch keeps it.
    private(set) var roots: [String: TorchStorageRef] = [:]
    private(set) var order: [String] = []

    init(path: String, legacy: Bool) {
        self.path = path
        self.legacy = legacy
    }

    func load(_ pid: PickleValue, _ graph: PickleGraph, _ offset: Int) throws -> PickleValue {
        func bad(_ detail: String) -> TorchError { .invalidPersistentID(path: path, offset: offset, detail: detail) }
        guard case let .tuple(items)? = graph.node(pid), let tag = Self.text(items.first) else {
            throw bad("expected a tuple starting with 'storage', got \(graph.describe(pid))")
        }
        if tag == "module" {
            // Legacy torch.save(model) records each module class with its source code this way.
            var className = "a module class"
            if items.count > 1, case let .global(g)? = graph.node(items[1]) { className = g.qualifiedName }
            throw TorchError.pickledModule(path: path, key: "(top level)", className: className)
        }
        guard tag == "storage" else { throw bad("type '\(tag.prefix(40))', only 'storage' is allowed") }
        let expected = legacy ? 6 : 5
        guard items.count == expected else { throw bad("\(items.count) fields, expected \(expected)") }
        guard case let .global(g)? = graph.node(items[1]), case let .storageType(dtype, elementSize) = g.kind else {
            throw bad("storage type is \(graph.describe(items[1]))")
        }
        guard let key = Self.text(items[2]) ?? items[2].int.map(String.init), !key.isEmpty, key.utf8.count <= 256 else {
            throw bad("storage key is \(graph.describe(items[2]))")
        }
        let location = Self.text(items[3]) ?? "?"
        guard case let .int(numel) = items[4], numel >= 0, CheckedSize.multiply(numel, elementSize) != nil else {
            throw bad("storage size is \(graph.describe(items[4]))")
        }
        var view: TorchStorageRef.View?
        if legacy, items[5] != .none {
            guard case let .tuple(v)? = graph.node(items[5]), v.count == 3,
                  let viewKey = Self.text(v[0]) ?? v[0].int.map(String.init),
                  case let .int(viewOffset) = v[1], case let .int(viewSize) = v[2],
                  viewOffset >= 0, viewSize >= 0 else {
                throw bad("view metadata is \(graph.describe(items[5]))")
            }
            view = .init(key: viewKey, offset: viewOffset, count: viewSize)
        }
        let ref = TorchStorageRef(key: key, typeName: g.name, dtype: dtype, elementSize: elementSize,
                                  numel: numel, location: location, view: view)
        if roots[key] == nil {
            roots[key] = ref
            order.append(key)
        }
        // torch keeps the first declaration's size for the root; later ones only add a dtype.
        let root = roots[key] ?? ref
        let effective = TorchStorageRef(key: key, typeName: g.name, dtype: dtype, elementSize: elementSize,
                                        numel: root.byteCount.map { $0 / max(elementSize, 1) } ?? numel,
                                        location: location, view: view)
        return graph.add(.storage(effective))
    }

    /// A str, or a Python 2 byte string, as text.
    static func text(_ v: PickleValue?) -> String? {
        switch v {
        case let .string(s)?: return s
        case let .bytes(b)?: return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

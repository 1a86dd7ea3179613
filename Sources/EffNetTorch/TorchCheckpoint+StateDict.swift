import EffNet

/// Finds the state dict inside whatever object a checkpoint holds.
struct StateDictFinder {
    /// Wrapper keys in order of preference: the plain weights before the EMA ones. A user who
    /// wants EMA weights names the key (`Options.wrapperKey`).
    static let wrapperKeys = ["state_dict", "model", "state_dict_ema", "model_ema", "module"]
    static let maxWrapperDepth = 4

    let graph: PickleGraph
    let path: String
    let preferred: String?

    struct Found {
        var dict: PickleDict
        var wrapperPath: [String]
        var siblings: [String]
    }

    func find(_ root: PickleValue) throws -> Found {
        var current = root
        var wrapperPath: [String] = []
        var siblings: [String] = []
        for level in 0 ..< Self.maxWrapperDepth {
            let place = wrapperPath.isEmpty ? "the top-level object" : "'\(wrapperPath.joined(separator: "."))'"
            switch graph.node(current) {
            case let .object(o)?:
                throw Self.objectError(o, key: wrapperPath.isEmpty ? "(top level)" : wrapperPath.joined(separator: "."), path: path)
            case let .dict(d)?:
                let keys = d.stringKeyedEntries.map(\.key)
                let chosen: String
                if level == 0, let preferred {
                    guard d.value(forKey: preferred) != nil else {
                        throw TorchError.noStateDict(path: path, detail: "there is no top-level key '\(preferred)'; keys: \(Self.list(keys))")
                    }
                    chosen = preferred
                } else if let key = Self.wrapperKeys.first(where: { k in
                    // A wrapper key counts when it holds a dict or an object, never a tensor: a
                    // training checkpoint may also hold loose tensors (best_acc1) at its top level.
                    guard let v = d.value(forKey: k) else { return false }
                    switch graph.node(v) {
                    case .dict?, .object?: return true
                    default: return false
                    }
                }) {
                    chosen = key
                } else if d.values.contains(where: { graph.tensor($0) != nil }) {
                    return Found(dict: d, wrapperPath: wrapperPath, siblings: siblings)
                } else if d.count == 0 {
                    throw TorchError.noStateDict(path: path, detail: "\(place) is an empty dict")
                } else {
                    throw TorchError.noStateDict(path: path, detail: "\(place) holds no tensors and none of the keys \(Self.wrapperKeys.joined(separator: ", ")); its keys: \(Self.list(keys))")
                }
                let qualifier = wrapperPath.isEmpty ? "" : wrapperPath.joined(separator: ".") + "."
                siblings += keys.filter { $0 != chosen }.map { qualifier + $0 }
                wrapperPath.append(chosen)
                current = d.value(forKey: chosen) ?? .none
            default:
                throw TorchError.noStateDict(path: path, detail: "\(place) is \(graph.describe(current)), not a dict of tensors")
            }
        }
        throw TorchError.noStateDict(path: path, detail: "wrappers nested more than \(Self.maxWrapperDepth) levels deep")
    }

    /// An opaque object where a state dict or tensor must be.
    static func objectError(_ o: PickleObject, key: String, path: String) -> TorchError {
        let name = o.global.qualifiedName
        let moduleLike = o.looksLikeModule || name.hasPrefix("torch.nn.") || name.hasPrefix("__torch__.")
        return moduleLike ? .pickledModule(path: path, key: key, className: name)
                          : .unsupportedGlobal(path: path, key: key, global: name)
    }

    static func list(_ keys: [String]) -> String {
        keys.count > 12 ? keys.prefix(12).joined(separator: ", ") + ", ... (\(keys.count) keys)" : keys.joined(separator: ", ")
    }
}

/// Turns a state dict's entries into validated tensor views.
struct StateDictExtractor {
    /// Prefixes stripped when every key carries them (repeatedly, in any order).
    static let strippablePrefixes = ["module.", "_orig_mod."]

    let graph: PickleGraph
    let path: String
    let loaded: LoadedTorchArchive

    func extract(_ dict: PickleDict) throws -> (tensors: [TorchCheckpoint.Tensor], skipped: [(name: String, reason: String)], prefix: String?) {
        var skipped: [(name: String, reason: String)] = []
        var entries: [(name: String, value: PickleValue)] = []
        for (k, v) in zip(dict.keys, dict.values) {
            guard let name = k.string else {
                skipped.append((graph.describe(k), "key is not a string"))
                continue
            }
            entries.append((name, v))
        }
        var prefix = ""
        var stripping = !entries.isEmpty
        var rounds = 0
        // Bounded: "module.module._orig_mod." is real; a thousand-fold repetition is hostile.
        while stripping, rounds < 8 {
            stripping = false
            rounds += 1
            for p in Self.strippablePrefixes where entries.allSatisfy({ $0.name.hasPrefix(prefix + p) }) {
                prefix += p
                stripping = true
            }
        }

        // Every storage the state dict needs, checked at once (CRCs on all cores for zips).
        var keys: [String] = []
        var seenKeys = Set<String>()
        for (_, value) in entries {
            if let t = graph.tensor(value), seenKeys.insert(t.storage.key).inserted { keys.append(t.storage.key) }
        }
        try loaded.source.prepare(keys)

        var cache: [String: ByteStorage] = [:]
        var tensors: [TorchCheckpoint.Tensor] = []
        tensors.reserveCapacity(entries.count)
        for (name, value) in entries {
            let short = String(name.dropFirst(prefix.count))
            if short == "num_batches_tracked" || short.hasSuffix(".num_batches_tracked") {
                skipped.append((short, "BatchNorm step counter (num_batches_tracked), not a weight"))
                continue
            }
            switch graph.node(value) {
            case let .tensor(t)?:
                let raw = try materialize(t, name: name, cache: &cache)
                tensors.append(.init(name: short, sourceName: name, raw: raw, isParameter: t.isParameter, requiresGrad: t.requiresGrad))
            case let .object(o)?:
                throw StateDictFinder.objectError(o, key: name, path: path)
            default:
                skipped.append((short, "not a tensor (\(graph.describe(value)))"))
            }
        }
        return (tensors, skipped, prefix.isEmpty ? nil : prefix)
    }

    /// Binds a tensor record to its storage's bytes and validates the view.
    func materialize(_ t: TorchTensorRecord, name: String, cache: inout [String: ByteStorage]) throws -> RawTensor {
        guard let dtype = t.dtype else {
            throw TorchError.tensor(path: path, name: name, detail: "element type \(t.dtypeName) is not supported")
        }
        let key = t.storage.key
        let rootBytes: ByteStorage
        if let c = cache[key] {
            rootBytes = c
        } else {
            rootBytes = try loaded.source.bytes(key)
            cache[key] = rootBytes
        }
        var bytes = rootBytes
        if let view = t.storage.view {
            let es = t.storage.elementSize
            guard let start = CheckedSize.multiply(view.offset, es), let length = CheckedSize.multiply(view.count, es),
                  let end = CheckedSize.add(start, length), end <= rootBytes.bytes.count else {
                throw TorchError.tensor(path: path, name: name,
                                        detail: "storage view '\(view.key)' (\(view.count) elements at \(view.offset)) exceeds storage '\(key)' of \(rootBytes.bytes.count) bytes")
            }
            bytes = ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: rootBytes.bytes[start ..< end]), owner: rootBytes)
        }
        do {
            return try RawTensor(dtype: dtype, shape: t.shape, strides: t.strides, offset: t.offset,
                                 storage: bytes, bigEndian: loaded.bigEndian)
        } catch let e as RawTensorError {
            throw TorchError.tensor(path: path, name: name, detail: "\(e) (storage '\(key)', \(bytes.bytes.count) bytes)")
        }
    }
}

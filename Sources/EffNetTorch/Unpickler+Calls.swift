import EffNet

/// REDUCE, NEWOBJ and BUILD, interpreted for the allowlisted globals only. Nothing here runs
/// code from the file: each allowlisted callable's effect is re-implemented as building a node.
extension Unpickler {
    /// REDUCE: `callable(*args)`.
    mutating func call(_ callable: PickleValue, args: PickleValue) throws -> PickleValue {
        switch graph.node(callable) {
        case let .global(g)?: return try callGlobal(g, args: args)
        case let .object(o)?: return try opaque(o.global)
        default: throw invalid("\(graph.describe(callable)) is not callable")
        }
    }

    /// NEWOBJ: `cls.__new__(cls, *args)`.
    mutating func instantiate(_ cls: PickleValue, args: PickleValue) throws -> PickleValue {
        switch graph.node(cls) {
        case let .global(g)?:
            switch g.kind {
            case .orderedDict, .dictClass: return try newNode(.dict(PickleDict(ordered: g.kind == .orderedDict)))
            case .list: return try newNode(.list(PickleList()))
            case let .set(frozen): return try newNode(.set(PickleList(), frozen: frozen))
            default: return try callGlobal(g, args: args)
            }
        case let .object(o)?: return try opaque(o.global)
        default: throw invalid("\(graph.describe(cls)) is not a class")
        }
    }

    /// BUILD: sets state on the value on top of the stack.
    func build(_ target: PickleValue, state: PickleValue) throws {
        // (state, slotstate) pairs: the dict part is what matters.
        var stateDict = graph.dict(state)
        if stateDict == nil, case let .tuple(t)? = graph.node(state), t.count == 2 {
            stateDict = graph.dict(t[0]) ?? graph.dict(t[1])
        }
        switch graph.node(target) {
        case let .dict(d)?:
            // OrderedDict state dicts get `_metadata` this way.
            guard let sd = stateDict else {
                if state == .none { return }
                throw invalid("BUILD state for a dict is \(graph.describe(state)), not a dict")
            }
            for (k, v) in sd.stringKeyedEntries {
                try hold(target.ref ?? 0, v)
                d.attributes[k] = v
            }
        case let .object(o)?:
            if let sd = stateDict {
                let keys = sd.stringKeyedEntries.map(\.key)
                o.stateKeys = Array(keys.prefix(64))
                if keys.contains("_parameters") || keys.contains("_modules") { o.looksLikeModule = true }
            }
        case .tensor?:
            break // Parameter.__setstate__ / tensor attributes: not needed
        default:
            throw invalid("BUILD on \(graph.describe(target))")
        }
    }

    mutating func opaque(_ g: PickleGlobal) throws -> PickleValue {
        try newNode(.object(PickleObject(global: g, offset: opOffset)))
    }

    /// The items of an argument tuple (REDUCE always passes a tuple).
    func arguments(_ args: PickleValue, for g: PickleGlobal) throws -> [PickleValue] {
        guard case let .tuple(items)? = graph.node(args) else {
            throw PickleError.invalidCall(path: path, offset: opOffset, function: g.qualifiedName,
                                          detail: "arguments are \(graph.describe(args)), not a tuple")
        }
        return items
    }

    /// Items of a list, tuple or set value.
    func sequence(_ v: PickleValue) -> [PickleValue]? {
        switch graph.node(v) {
        case let .tuple(t)?: return t
        case let .list(l)?: return l.items
        case let .set(s, _)?: return s.items
        default: return nil
        }
    }

    mutating func callGlobal(_ g: PickleGlobal, args: PickleValue) throws -> PickleValue {
        func bad(_ detail: String) -> PickleError {
            .invalidCall(path: path, offset: opOffset, function: g.qualifiedName, detail: detail)
        }
        switch g.kind {
        case .unsupported:
            return try opaque(g)
        case .reconstructor:
            // copyreg._reconstructor(cls, base, state): an instance of cls, opaque unless cls is.
            let a = try arguments(args, for: g)
            if let first = a.first, case let .global(cls)? = graph.node(first) { return try opaque(cls) }
            return try opaque(g)
        case .orderedDict, .dictClass:
            let a = try arguments(args, for: g)
            let d = PickleDict(ordered: g.kind == .orderedDict)
            let node = try newNode(.dict(d))
            if let first = a.first {
                if let src = graph.dict(first) {
                    for (k, v) in zip(src.keys, src.values) { d.set(k, v) }
                } else if let pairs = sequence(first) {
                    for p in pairs {
                        guard let kv = sequence(p), kv.count == 2 else { throw bad("items are not key-value pairs") }
                        d.set(kv[0], kv[1])
                    }
                } else {
                    throw bad("argument is \(graph.describe(first))")
                }
                try hold(node.ref ?? 0, first)
            }
            return node
        case .list, .tuple:
            let a = try arguments(args, for: g)
            let items = try a.first.map { v -> [PickleValue] in
                guard let s = sequence(v) else { throw bad("argument is \(graph.describe(v))") }
                return s
            } ?? []
            if g.kind == .tuple { return try newNode(.tuple(items), children: items) }
            let l = PickleList()
            l.items = items
            return try newNode(.list(l), children: items)
        case let .set(frozen):
            let a = try arguments(args, for: g)
            let l = PickleList()
            if let first = a.first {
                guard let s = sequence(first) else { throw bad("argument is \(graph.describe(first))") }
                l.items = s
            }
            return try newNode(.set(l, frozen: frozen), children: l.items)
        case let .rebuildTensor(version):
            return try rebuildTensor(try arguments(args, for: g), version: version, g)
        case let .rebuildParameter(withState):
            let a = try arguments(args, for: g)
            guard a.count == (withState ? 4 : 3), let t = graph.tensor(a[0]) else {
                throw bad("expected (tensor, requires_grad, hooks\(withState ? ", state" : "")), got \(a.count) arguments")
            }
            guard case let .bool(rg) = a[1] else { throw bad("requires_grad is \(graph.describe(a[1]))") }
            return try newNode(.tensor(t.asParameter(requiresGrad: rg)))
        case .parameterClass:
            // Parameter(data, requires_grad=True) through NEWOBJ.
            let a = try arguments(args, for: g)
            guard let first = a.first, let t = graph.tensor(first) else { throw bad("expected a tensor") }
            var rg = true
            if a.count > 1 {
                guard case let .bool(b) = a[1] else { throw bad("requires_grad is \(graph.describe(a[1])), not a bool") }
                rg = b
            }
            return try newNode(.tensor(t.asParameter(requiresGrad: rg)))
        case .rebuildFromType:
            // _rebuild_from_type_v2(func, new_type, args, state): func(*args), viewed as new_type.
            let a = try arguments(args, for: g)
            guard a.count == 4 else { throw bad("expected 4 arguments, got \(a.count)") }
            let result = try call(a[0], args: a[2])
            guard case let .global(type)? = graph.node(a[1]) else { throw bad("type is \(graph.describe(a[1]))") }
            switch type.kind {
            case .tensorClass: return result
            case .parameterClass:
                guard let t = graph.tensor(result) else { return result }
                return try newNode(.tensor(t.asParameter(requiresGrad: t.requiresGrad)))
            default: return try opaque(type) // a tensor subclass: not a plain tensor
            }
        case .size:
            let a = try arguments(args, for: g)
            let dims = try a.first.map { v -> [PickleValue] in
                guard let s = sequence(v) else { throw bad("argument is \(graph.describe(v))") }
                return s
            } ?? []
            return try newNode(.size(try dims.map {
                guard case let .int(i) = $0, i >= 0 else { throw bad("dimension \(graph.describe($0))") }
                return i
            }))
        case .device:
            let a = try arguments(args, for: g)
            guard let type = a.first?.string, type.utf8.count <= 64 else { throw bad("expected a device string") }
            if a.count > 1, case let .int(i) = a[1] { return try newNode(.device("\(type):\(i)")) }
            return try newNode(.device(type))
        case .codecsEncode:
            // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
            let a = try arguments(args, for: g)
            guard let s = a.first?.string else { throw bad("expected a string") }
            let encoding = (a.count > 1 ? a[1].string : nil) ?? "utf-8"
            switch encoding.lowercased() {
            case "latin1", "latin-1", "iso-8859-1":
                var out: [UInt8] = []
                out.reserveCapacity(s.unicodeScalars.count)
                for u in s.unicodeScalars {
                    guard u.value <= 0xff else { throw bad("character U+\(String(u.value, radix: 16)) is not latin-1") }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            case "utf-8", "utf8": return .bytes(Array(s.utf8))
            default: throw bad("encoding '\(encoding)'")
            }
        case .bytearray:
            let a = try arguments(args, for: g)
            switch a.first {
            case nil: return try newNode(.bytearray([]))
            case let .bytes(b)?: return try newNode(.bytearray(b))
            case let .string(s)?: return try newNode(.bytearray(Array(s.utf8)))
            default: throw bad("argument is \(graph.describe(a[0]))")
            }
        case .complex:
            let a = try arguments(args, for: g)
            func number(_ v: PickleValue?) throws -> Double {
                switch v {
                case nil: return 0
                case let .float(f)?: return f
                case let .int(i)?: return Double(i)
                default: throw bad("component is \(graph.describe(v ?? .none))")
                }
            }
            return try newNode(.complex(try number(a.first), try number(a.count > 1 ? a[1] : nil)))
        case .slice:
            let a = try arguments(args, for: g)
            guard (1 ... 3).contains(a.count) else { throw bad("expected 1-3 arguments") }
            return try newNode(.slice(a), children: a)
        case .storageType, .dtype, .tensorClass:
            throw bad("not callable here")
        }
    }

    /// `_rebuild_tensor(storage, offset, size, stride)`,
    /// `_rebuild_tensor_v2(..., requires_grad, hooks[, metadata])`,
    /// `_rebuild_tensor_v3(..., requires_grad, hooks, dtype[, metadata])`.
    mutating func rebuildTensor(_ a: [PickleValue], version: Int, _ g: PickleGlobal) throws -> PickleValue {
        func bad(_ detail: String) -> PickleError {
            .invalidCall(path: path, offset: opOffset, function: g.qualifiedName, detail: detail)
        }
        let counts: ClosedRange<Int> = version == 1 ? 4 ... 4 : version == 2 ? 6 ... 7 : 7 ... 8
        guard counts.contains(a.count) else { throw bad("expected \(counts) arguments, got \(a.count)") }
        guard case let .storage(storage)? = graph.node(a[0]) else { throw bad("storage is \(graph.describe(a[0]))") }
        guard case let .int(offset) = a[1], offset >= 0 else { throw bad("storage offset is \(graph.describe(a[1]))") }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            let items: [PickleValue]
            if case let .size(s)? = graph.node(v) { return s }
            guard let s = sequence(v) else { throw bad("\(what) is \(graph.describe(v))") }
            items = s
            guard items.count <= limits.maxRank else { throw bad("\(what) has \(items.count) dimensions (limit \(limits.maxRank))") }
            return try items.map {
                guard case let .int(i) = $0, i >= 0 else { throw bad("\(what) holds \(graph.describe($0))") }
                return i
            }
        }
        let shape = try ints(a[2], "size")
        let strides = try ints(a[3], "stride")
        guard shape.count == strides.count, shape.count <= limits.maxRank else {
            throw bad("size \(shape) and stride \(strides) differ in rank")
        }
        var requiresGrad = false
        if version >= 2 {
            // torch sets tensor.requires_grad from it, which accepts only a bool.
            guard case let .bool(b) = a[4] else { throw bad("requires_grad is \(graph.describe(a[4])), not a bool") }
            requiresGrad = b
        }
        var dtype = storage.dtype
        var dtypeName = storage.typeName
        var elementSize = storage.elementSize
        if version == 3 {
            guard case let .dtype(name, d)? = graph.node(a[6]) else { throw bad("dtype is \(graph.describe(a[6]))") }
            dtype = d
            dtypeName = name
            elementSize = d?.size ?? Self.unrepresentableDTypeSizes[name] ?? 1
        } else if let d = dtype {
            dtypeName = d.torchName
        }
        let record = TorchTensorRecord(storage: storage, dtype: dtype, dtypeName: dtypeName, elementSize: elementSize,
                                       offset: offset, shape: shape, strides: strides, requiresGrad: requiresGrad,
                                       isParameter: false, opcodeOffset: opOffset)
        return try newNode(.tensor(record))
    }

    static let unrepresentableDTypeSizes: [String: Int] = [
        "uint16": 2, "uint32": 4, "uint64": 8, "complex32": 4, "complex64": 8, "cfloat": 8,
        "complex128": 16, "cdouble": 16, "float8_e4m3fn": 1, "float8_e5m2": 1, "float8_e4m3fnuz": 1,
        "float8_e5m2fnuz": 1, "qint8": 1, "quint8": 1, "qint32": 4,
    ]
}

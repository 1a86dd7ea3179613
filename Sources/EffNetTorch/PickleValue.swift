import EffNet

/// A value the unpickler built. Scalars are stored inline; everything composite is a reference
/// into a `PickleGraph`, so values never nest inside values: a hostile pickle's deep nesting or
/// cycles cannot overflow the stack when values are walked or released.
public enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside Int64: its little-endian two's-complement bytes, as pickled.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A composite value: index into `PickleGraph.nodes`.
    case ref(Int)

    public var string: String? { if case let .string(s) = self { return s } else { return nil } }
    public var int: Int? { if case let .int(i) = self { return i } else { return nil } }
    public var ref: Int? { if case let .ref(r) = self { return r } else { return nil } }
}

/// A composite value in a `PickleGraph`.
public enum PickleNode {
    case tuple([PickleValue])
    case list(PickleList)
    /// A dict; `PickleDict.isOrdered` for collections.OrderedDict.
    case dict(PickleDict)
    case set(PickleList, frozen: Bool)
    /// A reference to a global (class, function or constant) that was not called.
    indirect case global(PickleGlobal)
    /// A torch storage reached through a persistent id. (Boxed: keeps every node small to copy.)
    indirect case storage(TorchStorageRef)
    /// A tensor rebuilt by torch._utils._rebuild_tensor*/_rebuild_parameter*.
    indirect case tensor(TorchTensorRecord)
    /// torch.Size
    case size([Int])
    /// A torch dtype constant such as torch.float32 (`dtype` nil for types DType cannot hold).
    case dtype(name: String, dtype: DType?)
    /// torch.device, as "cpu" / "cuda:0".
    case device(String)
    case complex(Double, Double)
    case slice([PickleValue])
    case bytearray([UInt8])
    /// An instance of a class that is not allowlisted (argparse.Namespace, numpy scalars, an
    /// nn.Module, ...). Nothing of it was ever run: it is an opaque marker that absorbs the state
    /// and items the pickle gives it. See `PickleObject`.
    case object(PickleObject)
}

/// A mutable list (or set) node: pickle mutates lists after creating them (APPEND after MARK).
public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    init() {}
}

/// A mutable dict node with insertion order kept (Python dicts are ordered).
public final class PickleDict {
    public let isOrdered: Bool
    public internal(set) var keys: [PickleValue] = []
    public internal(set) var values: [PickleValue] = []
    /// Attributes set by BUILD (OrderedDict state dicts carry `_metadata` this way).
    public internal(set) var attributes: [String: PickleValue] = [:]
    private var index: [PickleKey: Int] = [:]

    init(ordered: Bool) { isOrdered = ordered }

    public var count: Int { keys.count }

    /// Python semantics: setting an existing key replaces its value in place.
    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = PickleKey(key) {
            if let i = index[k] { values[i] = value; return }
            index[k] = keys.count
        }
        keys.append(key)
        values.append(value)
    }

    public func value(forKey key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }

    /// Entries whose key is a string, in order.
    public var stringKeyedEntries: [(key: String, value: PickleValue)] {
        zip(keys, values).compactMap { k, v in k.string.map { ($0, v) } }
    }
}

/// Hashable image of the scalar keys a dict can have (tuples and other composites are keyed by
/// node identity, which is what Python does for the hashable ones that matter here).
enum PickleKey: Hashable {
    case none, bool(Bool), int(Int), string(String), bytes([UInt8]), float(UInt64), ref(Int), big([UInt8])

    /// Keys longer than this are not indexed (such an entry is appended without replacing an
    /// equal key): hashing costs the key's length, and a hostile pickle could otherwise insert
    /// one memoized megabyte key a million times. State-dict keys are far shorter.
    static let maxIndexedLength = 1024

    init?(_ v: PickleValue) {
        switch v {
        case let .string(s) where s.utf8.count > Self.maxIndexedLength: return nil
        case let .bytes(b) where b.count > Self.maxIndexedLength: return nil
        case let .bigInt(b) where b.count > Self.maxIndexedLength: return nil
        case .none: self = .none
        case let .bool(b): self = .int(b ? 1 : 0) // Python: True == 1
        case let .int(i): self = .int(i)
        case let .bigInt(b): self = .big(b)
        case let .float(f): self = f.rounded() == f && abs(f) < 9e18 ? .int(Int(f)) : .float(f.bitPattern)
        case let .string(s): self = .string(s)
        case let .bytes(b): self = .bytes(b)
        case let .ref(r): self = .ref(r)
        }
    }
}

/// An opaque instance of a non-allowlisted class. It records what it is, where it was made and
/// the shape of the state it was given, and nothing else.
public final class PickleObject {
    public let global: PickleGlobal
    /// Offset of the opcode that created it, in the file.
    public let offset: Int
    /// String keys of the state BUILD gave it (first 64), e.g. an argparse.Namespace's fields.
    public internal(set) var stateKeys: [String] = []
    /// True when its state has `_parameters` / `_modules`: a pickled torch.nn.Module.
    public internal(set) var looksLikeModule = false
    init(global: PickleGlobal, offset: Int) { self.global = global; self.offset = offset }
}

/// Every composite value one or more pickles produced, by index.
public final class PickleGraph {
    public internal(set) var nodes: [PickleNode] = []
    /// Nesting depth of each node (1 for a container of scalars), enforced against the limit.
    var depths: [Int32] = []
    /// Elements spent so far by the pickles loaded into this graph (`PickleLimits.maxElements`).
    var elements = 0

    public init() {}

    public subscript(_ ref: Int) -> PickleNode? {
        ref >= 0 && ref < nodes.count ? nodes[ref] : nil
    }

    /// The node a value refers to, or nil for scalars.
    public func node(_ value: PickleValue) -> PickleNode? {
        value.ref.flatMap { self[$0] }
    }

    func add(_ node: PickleNode, depth: Int = 1) -> PickleValue {
        nodes.append(node)
        depths.append(Int32(clamping: depth))
        return .ref(nodes.count - 1)
    }

    func depth(of value: PickleValue) -> Int {
        guard let r = value.ref, r < depths.count else { return 0 }
        return Int(depths[r])
    }

    func raiseDepth(of ref: Int, toHold child: PickleValue) -> Int {
        let d = max(Int(depths[ref]), depth(of: child) + 1)
        depths[ref] = Int32(clamping: d)
        return d
    }

    /// The dict a value refers to (plain or ordered), if it is one.
    public func dict(_ value: PickleValue) -> PickleDict? {
        if case let .dict(d)? = node(value) { return d }
        return nil
    }

    /// The tensor a value refers to, if it is one.
    public func tensor(_ value: PickleValue) -> TorchTensorRecord? {
        if case let .tensor(t)? = node(value) { return t }
        return nil
    }

    /// A short human description of a value: "int 3", "OrderedDict (312 entries)",
    /// "object argparse.Namespace", ... Never walks deeper than one level.
    public func describe(_ value: PickleValue) -> String {
        switch value {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return "int \(i)"
        case let .bigInt(b): return "int (\(b.count) bytes)"
        case let .float(f): return "float \(f)"
        case let .string(s): return s.count > 60 ? "str '\(s.prefix(57))...'" : "str '\(s)'"
        case let .bytes(b): return "bytes (\(b.count))"
        case let .ref(r):
            guard let n = self[r] else { return "invalid reference" }
            switch n {
            case let .tuple(t): return "tuple (\(t.count) items)"
            case let .list(l): return "list (\(l.items.count) items)"
            case let .dict(d): return "\(d.isOrdered ? "OrderedDict" : "dict") (\(d.count) entries)"
            case let .set(s, frozen): return "\(frozen ? "frozenset" : "set") (\(s.items.count) items)"
            case let .global(g): return "global \(g.qualifiedName)"
            case let .storage(s): return "storage \(s.typeName) key \(s.key)"
            case let .tensor(t): return "tensor \(t.dtypeName) \(t.shape)"
            case let .size(s): return "torch.Size \(s)"
            case let .dtype(name, _): return "torch.\(name)"
            case let .device(d): return "device \(d)"
            case let .complex(re, im): return "complex (\(re), \(im))"
            case let .slice(s): return "slice (\(s.count))"
            case let .bytearray(b): return "bytearray (\(b.count))"
            case let .object(o): return "object \(o.global.qualifiedName)"
            }
        }
    }
}

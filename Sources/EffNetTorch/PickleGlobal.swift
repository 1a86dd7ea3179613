import EffNet

/// A global a pickle names (GLOBAL / STACK_GLOBAL / INST), resolved against the allowlist.
///
/// The allowlist is modelled on torch's `weights_only` unpickler
/// (torch/_weights_only_unpickler.py, `_get_allowed_globals`). Resolution never imports or runs
/// anything: an allowlisted global maps to a `Kind` whose behaviour this package implements
/// itself; a denied one is an immediate error; anything else becomes `.unsupported`, an opaque
/// marker (see `PickleObject`) that is an error only if the converter needs it.
public struct PickleGlobal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case orderedDict            // collections.OrderedDict (also collections.Counter, as a dict)
        case dictClass              // builtins.dict
        case rebuildTensor(version: Int)  // torch._utils._rebuild_tensor (1), _v2, _v3
        case rebuildParameter(withState: Bool)
        case rebuildFromType        // torch._tensor._rebuild_from_type_v2
        case tensorClass            // torch.Tensor
        case parameterClass         // torch.nn.parameter.Parameter
        /// torch.*Storage / torch.cuda.*Storage / UntypedStorage: a storage type as used in
        /// persistent ids. `elementSize` is what the legacy format needs to skip its bytes.
        case storageType(dtype: DType?, elementSize: Int)
        case dtype(DType?)          // torch.float32, ...
        case size                   // torch.Size
        case device                 // torch.device
        case codecsEncode           // _codecs.encode: bytes in protocol 2
        case set(frozen: Bool)
        case list, tuple            // builtins.list / tuple (harmless constructors)
        case bytearray, complex, slice
        case reconstructor          // copyreg._reconstructor: instance of its first argument
        case unsupported
    }

    public let module: String
    public let name: String
    public let kind: Kind

    public var qualifiedName: String { "\(module).\(name)" }

    /// Python 2 names for Python 3 modules, as Python's unpickler maps them for protocols < 3
    /// (`_compat_pickle.IMPORT_MAPPING`): Python 3 writes `subprocess.Popen` as `commands.Popen`
    /// at protocol 2, and loading maps it back. The subset that matters here.
    static let moduleRenames = ["__builtin__": "builtins", "copy_reg": "copyreg", "commands": "subprocess",
                                "cPickle": "pickle", "_winreg": "winreg", "thread": "_thread",
                                "dummy_thread": "_dummy_thread", "Queue": "queue", "SocketServer": "socketserver",
                                "urllib2": "urllib.request", "httplib": "http.client"]

    /// Modules whose globals are refused outright, wherever they appear: they exist to run code,
    /// touch the file system or the process, and no checkpoint needs them. Matched on the first
    /// component (`os.path` is `os`). torch's own blocklist is sys, os, posix, nt.
    static let deniedModules: Set<String> = [
        "os", "posix", "nt", "sys", "subprocess", "_posixsubprocess", "shutil", "socket", "pty",
        "importlib", "runpy", "code", "codeop", "ctypes", "_ctypes", "multiprocessing", "pickle",
        "_pickle", "cPickle", "marshal", "shelve", "webbrowser", "commands", "types", "operator",
        "functools", "io", "_io", "signal", "platform", "tempfile", "glob", "asyncio", "threading",
        "_thread", "pdb", "bdb", "timeit", "trace", "cProfile", "profile", "ast", "inspect", "pydoc",
        "zipimport", "ssl", "http", "urllib", "ftplib", "smtplib", "telnetlib", "socketserver", "winreg",
        "_winreg", "_dummy_thread",
    ]

    static let storageTypes: [String: (DType?, Int)] = [
        "DoubleStorage": (.f64, 8), "FloatStorage": (.f32, 4), "HalfStorage": (.f16, 2),
        "BFloat16Storage": (.bf16, 2), "LongStorage": (.i64, 8), "IntStorage": (.i32, 4),
        "ShortStorage": (.i16, 2), "CharStorage": (.i8, 1), "ByteStorage": (.u8, 1),
        "BoolStorage": (.bool, 1), "ComplexFloatStorage": (nil, 8), "ComplexDoubleStorage": (nil, 16),
        "QInt8Storage": (nil, 1), "QUInt8Storage": (nil, 1), "QInt32Storage": (nil, 4),
        "QUInt4x2Storage": (nil, 1), "QUInt2x4Storage": (nil, 1),
    ]

    static let dtypes: [String: DType?] = [
        "float64": .f64, "double": .f64, "float32": .f32, "float": .f32, "float16": .f16,
        "half": .f16, "bfloat16": .bf16, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
        "complex64": nil, "cfloat": nil, "complex128": nil, "cdouble": nil, "complex32": nil,
        "uint16": nil, "uint32": nil, "uint64": nil, "float8_e4m3fn": nil, "float8_e5m2": nil,
        "float8_e4m3fnuz": nil, "float8_e5m2fnuz": nil, "qint8": nil, "quint8": nil, "qint32": nil,
    ]

    static let builtins: [String: Kind] = [
        "set": .set(frozen: false), "frozenset": .set(frozen: true), "bytearray": .bytearray,
        "complex": .complex, "slice": .slice, "dict": .dictClass, "list": .list, "tuple": .tuple,
    ]

    /// Resolves a global.
    /// - Throws: `PickleError.disallowedGlobal` for denied modules and for any builtin that is not
    ///   one of the harmless constructors (eval, exec, getattr, __import__, open, ...).
    static func resolve(module rawModule: String, name: String, path: String, offset: Int) throws -> PickleGlobal {
        let module = moduleRenames[rawModule] ?? rawModule
        let root = module.split(separator: ".", maxSplits: 1).first.map(String.init) ?? module
        func deny() -> PickleError { .disallowedGlobal(path: path, module: module, name: name, offset: offset) }
        if deniedModules.contains(root) { throw deny() }
        let kind: Kind
        switch module {
        case "builtins":
            guard let k = builtins[name] else { throw deny() }
            kind = k
        case "collections":
            kind = (name == "OrderedDict" || name == "Counter") ? .orderedDict : .unsupported
        case "_codecs":
            kind = name == "encode" ? .codecsEncode : .unsupported
        case "copyreg":
            kind = name == "_reconstructor" ? .reconstructor : .unsupported
        case "torch._utils":
            switch name {
            case "_rebuild_tensor": kind = .rebuildTensor(version: 1)
            case "_rebuild_tensor_v2": kind = .rebuildTensor(version: 2)
            case "_rebuild_tensor_v3": kind = .rebuildTensor(version: 3)
            case "_rebuild_parameter": kind = .rebuildParameter(withState: false)
            case "_rebuild_parameter_with_state": kind = .rebuildParameter(withState: true)
            default: kind = .unsupported
            }
        case "torch._tensor":
            kind = name == "_rebuild_from_type_v2" ? .rebuildFromType : .unsupported
        case "torch.nn.parameter":
            kind = name == "Parameter" ? .parameterClass : .unsupported
        case "torch.storage":
            kind = name == "UntypedStorage" ? .storageType(dtype: .u8, elementSize: 1) : .unsupported
        case "torch", "torch.cuda":
            if let (d, size) = storageTypes[name] {
                kind = .storageType(dtype: d, elementSize: size)
            } else if module == "torch", name == "UntypedStorage" {
                kind = .storageType(dtype: .u8, elementSize: 1)
            } else if module == "torch", let d = dtypes[name] {
                kind = .dtype(d)
            } else if module == "torch", name == "Size" {
                kind = .size
            } else if module == "torch", name == "device" {
                kind = .device
            } else if module == "torch", name == "Tensor" {
                kind = .tensorClass
            } else {
                kind = .unsupported
            }
        default:
            kind = .unsupported
        }
        return PickleGlobal(module: module, name: name, kind: kind)
    }
}

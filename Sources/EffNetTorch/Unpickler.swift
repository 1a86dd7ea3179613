import EffNet

/// Resolves a persistent id (BINPERSID / PERSID) to the value to push. torch uses these for
/// storages; see `TorchPersistentLoader`.
public typealias PersistentLoader = (_ pid: PickleValue, _ graph: PickleGraph, _ offset: Int) throws -> PickleValue

/// A pickle virtual machine for protocols 0-5 that builds values and never executes anything.
///
/// Globals resolve through `PickleGlobal.resolve` (allowlist; denied modules are errors; the rest
/// become opaque objects). Calls (REDUCE, NEWOBJ, BUILD) are interpreted by this package for the
/// allowlisted callables only (`Unpickler+Calls.swift`). Every operand length is checked against
/// the bytes left; stack, MARKs, memo, node count and nesting depth are bounded by `PickleLimits`.
/// The machine is iterative, and values never nest inside values (see `PickleValue`), so no
/// input can exhaust the call stack.
public struct Unpickler {
    public let path: String
    public let limits: PickleLimits
    public let graph: PickleGraph
    var reader: PickleReader
    var stack: [PickleValue] = []
    var marks: [Int] = []
    /// Memo entries: dense indices (what picklers write) in an array, sparse ones in a dict.
    var memoArray: [PickleValue?] = []
    var memoSparse: [Int: PickleValue] = [:]
    var memoCount = 0
    /// The version from the PROTO opcode (0 when absent).
    public internal(set) var protocolVersion = 0
    let persistentLoad: PersistentLoader?
    /// Offset and code of the opcode being executed, for errors.
    var opOffset = 0
    var opCode: UInt8 = 0
    /// The executing opcode's name (for error messages only: not computed on the hot path).
    var opName: String { Self.opcodeNames[opCode] ?? "0x" + String(opCode, radix: 16) }

    /// - Parameters:
    ///   - bytes: the pickle (and possibly what follows it: `load()` stops at STOP).
    ///   - baseOffset: file offset of `bytes[0]`, so errors name file offsets.
    ///   - graph: where composite values go (several pickles may share one graph).
    ///   - persistentLoad: resolver for persistent ids; nil makes them an error.
    public init(bytes: UnsafeRawBufferPointer, baseOffset: Int = 0, path: String, graph: PickleGraph,
                limits: PickleLimits = .default, persistentLoad: PersistentLoader? = nil) {
        self.path = path
        self.limits = limits
        self.graph = graph
        self.reader = PickleReader(bytes, baseOffset: baseOffset)
        self.persistentLoad = persistentLoad
        self.elementBudget = graph.elements + min(limits.maxElements, max(4096, bytes.count / 2))
    }

    /// `graph.elements` may grow to this (see `PickleLimits.maxElements`).
    let elementBudget: Int

    /// Counts `n` elements against the budget.
    func spend(_ n: Int) throws {
        graph.elements += n
        guard graph.elements <= elementBudget else {
            throw limit("elements (container items and memo entries, bounded by the pickle's length)",
                        min(limits.maxElements, elementBudget))
        }
    }

    /// Bytes consumed so far (after `load()`: the pickle's length including STOP).
    public var consumed: Int { reader.index }

    /// Runs the pickle to its STOP opcode and returns the value it leaves.
    /// - Throws: `PickleError` naming the file and the opcode's offset; errors thrown by the
    ///   persistent loader pass through.
    public mutating func load() throws -> PickleValue {
        do {
            while true {
                opOffset = reader.offset
                let op = try reader.byte()
                opCode = op
                if op == 0x2e { // STOP
                    return try pop()
                }
                try execute(op)
            }
        } catch let e as ByteReaderError {
            if case let .truncated(offset, needed, available) = e {
                throw PickleError.truncated(path: path, offset: offset, needed: needed - max(0, available))
            }
            throw PickleError.truncated(path: path, offset: opOffset, needed: 1)
        }
    }

    // MARK: stack

    var frameBottom: Int { marks.last ?? 0 }

    mutating func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw limit("stack size", limits.maxStack) }
        stack.append(v)
    }

    mutating func pop() throws -> PickleValue {
        guard stack.count > frameBottom else { throw PickleError.stackUnderflow(path: path, offset: opOffset, opcode: opName) }
        return stack.removeLast()
    }

    func top() throws -> PickleValue {
        guard stack.count > frameBottom, let v = stack.last else {
            throw PickleError.stackUnderflow(path: path, offset: opOffset, opcode: opName)
        }
        return v
    }

    mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw PickleError.stackUnderflow(path: path, offset: opOffset, opcode: opName) }
        try spend(stack.count - m)
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    // MARK: nodes

    mutating func newNode(_ node: PickleNode, children: [PickleValue] = []) throws -> PickleValue {
        guard graph.nodes.count < limits.maxNodes else { throw limit("values created", limits.maxNodes) }
        var depth = 1
        for c in children { depth = max(depth, graph.depth(of: c) + 1) }
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        return graph.add(node, depth: depth)
    }

    /// Records that container `ref` now holds `child`, enforcing the depth bound.
    func hold(_ ref: Int, _ child: PickleValue) throws {
        guard child.ref != nil else { return }
        guard graph.raiseDepth(of: ref, toHold: child) <= limits.maxDepth else {
            throw limit("nesting depth", limits.maxDepth)
        }
    }

    func limit(_ what: String, _ value: Int) -> PickleError {
        .limitExceeded(path: path, offset: opOffset, what: what, limit: value)
    }

    func invalid(_ detail: String) -> PickleError {
        .invalidOperation(path: path, offset: opOffset, opcode: opName, detail: detail)
    }

    // MARK: operand readers

    /// A length operand checked against the bytes left before anything is allocated.
    @inline(__always)
    mutating func checkedLength(_ n: UInt64) throws -> Int {
        guard n <= UInt64(reader.remaining) else {
            throw PickleError.truncated(path: path, offset: reader.offset, needed: Int(clamping: n) - reader.remaining)
        }
        return Int(n)
    }

    /// A signed 32-bit length (BINSTRING, LONG4): negative is malformed.
    mutating func checkedSignedLength() throws -> Int {
        let n = Int32(bitPattern: try reader.u32())
        guard n >= 0 else { throw invalid("negative length \(n)") }
        return try checkedLength(UInt64(n))
    }

    /// A text-protocol line (without its newline), bounded by the bytes left.
    mutating func readLine() throws -> String {
        let b = reader.bytes
        let start = reader.index
        var i = start
        while i < b.count, b[i] != 0x0a { i += 1 }
        guard i < b.count else { throw PickleError.truncated(path: path, offset: reader.offset, needed: 1) }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: b[start ..< i]), as: UTF8.self)
        try reader.skip(i - start + 1)
        return line
    }

    /// Picklers number memo entries 0, 1, 2, ...: those live in an array; an index far beyond
    /// the array goes to a dictionary so a hostile index cannot make the array huge.
    mutating func memoize(_ index: Int, _ value: PickleValue) throws {
        guard index >= 0 else { throw invalid("negative memo index \(index)") }
        try spend(1)
        if index < memoArray.count {
            if memoArray[index] == nil { memoCount += 1 }
            memoArray[index] = value
            return
        }
        guard memoCount < limits.maxMemo else { throw limit("memo entries", limits.maxMemo) }
        if index <= memoArray.count + 1024 {
            memoArray.append(contentsOf: repeatElement(nil, count: index - memoArray.count))
            memoArray.append(value)
            memoCount += 1
        } else {
            if memoSparse.updateValue(value, forKey: index) == nil { memoCount += 1 }
        }
    }

    func memoValue(_ index: Int) throws -> PickleValue {
        if index >= 0, index < memoArray.count, let v = memoArray[index] { return v }
        guard let v = memoSparse[index] else { throw PickleError.memoMissing(path: path, offset: opOffset, index: index) }
        return v
    }

    /// Little-endian two's-complement integer of any length (LONG1 / LONG4).
    static func decodeLong(_ bytes: UnsafeRawBufferPointer) -> PickleValue {
        if bytes.isEmpty { return .int(0) }
        let negative = bytes[bytes.count - 1] & 0x80 != 0
        // Fits in Int64 when every byte above the 8th is pure sign extension.
        let fill: UInt8 = negative ? 0xff : 0x00
        if bytes.count > 8 {
            let highOK = bytes[8...].allSatisfy { $0 == fill } && ((bytes[7] & 0x80 != 0) == negative)
            if !highOK { return .bigInt(Array(bytes)) }
        }
        var v: UInt64 = negative ? ~0 : 0
        for i in 0 ..< min(8, bytes.count) {
            v &= ~(UInt64(0xff) << (8 * UInt64(i)))
            v |= UInt64(bytes[i]) << (8 * UInt64(i))
        }
        return .int(Int(Int64(bitPattern: v)))
    }

    static let opcodeNames: [UInt8: String] = [
        0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT",
        0x49: "INT", 0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE",
        0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING",
        0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD",
        0x63: "GLOBAL", 0x64: "DICT", 0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
        0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT",
        0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE",
        0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE",
        0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE",
        0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
        0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}

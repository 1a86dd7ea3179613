import EffNet

extension Unpickler {
    /// Executes one opcode (STOP is handled by `load()`).
    mutating func execute(_ op: UInt8) throws {
        switch op {
        // MARK: protocol and framing
        case 0x80: // PROTO
            let v = Int(try reader.byte())
            guard v <= 5 else { throw PickleError.unsupportedProtocol(path: path, offset: opOffset, version: v) }
            protocolVersion = v
        case 0x95: // FRAME: a length hint; only checked
            _ = try checkedLength(try reader.u64())

        // MARK: stack manipulation
        case 0x28: // MARK
            guard marks.count < limits.maxMarks else { throw limit("open MARKs", limits.maxMarks) }
            marks.append(stack.count)
        case 0x30: _ = try pop() // POP
        case 0x31: _ = try popMark() // POP_MARK
        case 0x32: try push(try top()) // DUP

        // MARK: scalars
        case 0x4e: try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case 0x4a: try push(.int(Int(Int32(bitPattern: try reader.u32())))) // BININT
        case 0x4b: try push(.int(Int(try reader.byte()))) // BININT1
        case 0x4d: try push(.int(Int(try reader.u16()))) // BININT2
        case 0x8a: try push(Self.decodeLong(try reader.read(Int(try reader.byte())))) // LONG1
        case 0x8b: try push(Self.decodeLong(try reader.read(try checkedSignedLength()))) // LONG4
        case 0x47: try push(.float(try reader.float64BigEndian())) // BINFLOAT
        case 0x49: try push(try parseTextInt(try readLine())) // INT
        case 0x4c: // LONG (text, optional trailing L)
            var line = try readLine()
            if line.hasSuffix("L") { line.removeLast() }
            guard let v = Int(line) else { throw invalid("integer '\(line.prefix(40))' is not a 64-bit decimal") }
            try push(.int(v))
        case 0x46: // FLOAT (text)
            let line = try readLine()
            guard let v = Double(line) else { throw invalid("float '\(line.prefix(40))' is not a number") }
            try push(.float(v))

        // MARK: strings and bytes
        case 0x58: try push(.string(try reader.string(try checkedLength(UInt64(try reader.u32()))))) // BINUNICODE
        case 0x8c: try push(.string(try reader.string(Int(try reader.byte())))) // SHORT_BINUNICODE
        case 0x8d: try push(.string(try reader.string(try checkedLength(try reader.u64())))) // BINUNICODE8
        // Python 2 str: torch.load decodes them as UTF-8.
        case 0x54: try push(.string(try reader.string(try checkedSignedLength()))) // BINSTRING
        case 0x55: try push(.string(try reader.string(Int(try reader.byte())))) // SHORT_BINSTRING
        case 0x42: try push(.bytes(Array(try reader.read(try checkedLength(UInt64(try reader.u32())))))) // BINBYTES
        case 0x43: try push(.bytes(Array(try reader.read(Int(try reader.byte()))))) // SHORT_BINBYTES
        case 0x8e: try push(.bytes(Array(try reader.read(try checkedLength(try reader.u64()))))) // BINBYTES8
        case 0x96: // BYTEARRAY8
            let b = Array(try reader.read(try checkedLength(try reader.u64())))
            try push(try newNode(.bytearray(b)))
        case 0x53: // STRING (text, quoted)
            guard let s = Self.parseQuotedString(try readLine()) else { throw invalid("malformed quoted string") }
            try push(.string(s))
        case 0x56: try push(.string(Self.decodeRawUnicodeEscape(try readLine())))

        // MARK: containers
        case 0x29: try push(try newNode(.tuple([]))) // EMPTY_TUPLE
        case 0x5d: try push(try newNode(.list(PickleList()))) // EMPTY_LIST
        case 0x7d: try push(try newNode(.dict(PickleDict(ordered: false)))) // EMPTY_DICT
        case 0x8f: try push(try newNode(.set(PickleList(), frozen: false))) // EMPTY_SET
        case 0x74: // TUPLE
            let items = try popMark()
            try push(try newNode(.tuple(items), children: items))
        case 0x85, 0x86, 0x87: // TUPLE1-3
            let n = Int(op - 0x84)
            guard stack.count - frameBottom >= n else { throw PickleError.stackUnderflow(path: path, offset: opOffset, opcode: opName) }
            let items = Array(stack.suffix(n))
            stack.removeLast(n)
            try push(try newNode(.tuple(items), children: items))
        case 0x6c: // LIST
            let items = try popMark()
            let l = PickleList()
            l.items = items
            try push(try newNode(.list(l), children: items))
        case 0x64: // DICT
            let items = try popMark()
            guard items.count % 2 == 0 else { throw invalid("odd number of items (\(items.count)) for a dict") }
            let d = PickleDict(ordered: false)
            for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            try push(try newNode(.dict(d), children: items))
        case 0x91: // FROZENSET
            let items = try popMark()
            let l = PickleList()
            l.items = items
            try push(try newNode(.set(l, frozen: true), children: items))
        case 0x61: // APPEND
            let v = try pop()
            try spend(1)
            try appendItems([v])
        case 0x65: // APPENDS
            let items = try popMark()
            try appendItems(items)
        case 0x73: // SETITEM
            let v = try pop()
            let k = try pop()
            try spend(2)
            try setItems([k, v])
        case 0x75: // SETITEMS
            let items = try popMark()
            guard items.count % 2 == 0 else { throw invalid("odd number of items (\(items.count)) for SETITEMS") }
            try setItems(items)
        case 0x90: // ADDITEMS
            let items = try popMark()
            let target = try top()
            switch graph.node(target) {
            case let .set(s, _)?:
                for i in items { try hold(target.ref ?? 0, i) }
                s.items.append(contentsOf: items)
            case .object?: break
            default: throw invalid("ADDITEMS on \(graph.describe(target)), not a set")
            }

        // MARK: memo
        case 0x71: try memoize(Int(try reader.byte()), try top()) // BINPUT
        case 0x72: try memoize(Int(try reader.u32()), try top()) // LONG_BINPUT
        case 0x94: try memoize(memoCount, try top()) // MEMOIZE
        case 0x70: // PUT
            let line = try readLine()
            guard let i = Int(line) else { throw invalid("memo index '\(line.prefix(40))' is not a number") }
            try memoize(i, try top())
        case 0x68: try push(try memoValue(Int(try reader.byte()))) // BINGET
        case 0x6a: try push(try memoValue(Int(try reader.u32()))) // LONG_BINGET
        case 0x67: // GET
            let line = try readLine()
            guard let i = Int(line) else { throw invalid("memo index '\(line.prefix(40))' is not a number") }
            try push(try memoValue(i))

        // MARK: globals, calls, objects
        case 0x63: // GLOBAL
            let module = try readLine()
            let name = try readLine()
            try push(try globalValue(try PickleGlobal.resolve(module: module, name: name, path: path, offset: opOffset)))
        case 0x93: // STACK_GLOBAL
            let name = try pop()
            let module = try pop()
            guard let m = module.string, let n = name.string else { throw invalid("module and name are not strings") }
            try push(try globalValue(try PickleGlobal.resolve(module: m, name: n, path: path, offset: opOffset)))
        case 0x52: // REDUCE
            let args = try pop()
            let callable = try pop()
            try push(try call(callable, args: args))
        case 0x81: // NEWOBJ
            let args = try pop()
            let cls = try pop()
            try push(try instantiate(cls, args: args))
        case 0x92: // NEWOBJ_EX: keyword arguments are accepted only by opaque classes
            let kwargs = try pop()
            let args = try pop()
            let cls = try pop()
            if let d = graph.dict(kwargs), d.count > 0, !isOpaque(cls) {
                throw invalid("keyword arguments for \(graph.describe(cls))")
            }
            try push(try instantiate(cls, args: args))
        case 0x69: // INST: module, name lines; arguments since MARK
            let module = try readLine()
            let name = try readLine()
            let items = try popMark()
            let g = try newNode(.global(try PickleGlobal.resolve(module: module, name: name, path: path, offset: opOffset)))
            try push(try instantiate(g, args: try newNode(.tuple(items), children: items)))
        case 0x6f: // OBJ: class and arguments since MARK
            var items = try popMark()
            guard !items.isEmpty else { throw PickleError.stackUnderflow(path: path, offset: opOffset, opcode: opName) }
            let cls = items.removeFirst()
            try push(try instantiate(cls, args: try newNode(.tuple(items), children: items)))
        case 0x62: // BUILD
            let state = try pop()
            try build(try top(), state: state)
        case 0x51: // BINPERSID
            let pid = try pop()
            try push(try loadPersistent(pid))
        case 0x50: // PERSID
            try push(try loadPersistent(.string(try readLine())))

        // MARK: never supported
        case 0x82, 0x83, 0x84:
            throw PickleError.unsupportedOpcode(path: path, offset: opOffset, opcode: opName,
                                                reason: "the copyreg extension registry is not used by checkpoints")
        case 0x97, 0x98:
            throw PickleError.unsupportedOpcode(path: path, offset: opOffset, opcode: opName,
                                                reason: "out-of-band buffers cannot occur in a file")
        default:
            throw PickleError.unknownOpcode(path: path, offset: opOffset, opcode: op)
        }
    }

    /// A global as a value: dtype constants (torch.float32 is pickled as a global) become dtype
    /// nodes; everything else a global reference.
    mutating func globalValue(_ g: PickleGlobal) throws -> PickleValue {
        if case let .dtype(d) = g.kind { return try newNode(.dtype(name: g.name, dtype: d)) }
        return try newNode(.global(g))
    }

    mutating func loadPersistent(_ pid: PickleValue) throws -> PickleValue {
        guard let persistentLoad else { throw invalid("persistent id in a pickle that allows none") }
        return try persistentLoad(pid, graph, opOffset)
    }

    func appendItems(_ items: [PickleValue]) throws {
        let target = try top()
        switch graph.node(target) {
        case let .list(l)?:
            for i in items { try hold(target.ref ?? 0, i) }
            l.items.append(contentsOf: items)
        case .object?: break // list subclasses of opaque classes: their items are not needed
        default: throw invalid("APPEND to \(graph.describe(target)), not a list")
        }
    }

    func setItems(_ items: [PickleValue]) throws {
        let target = try top()
        switch graph.node(target) {
        case let .dict(d)?:
            for i in stride(from: 0, to: items.count, by: 2) {
                try hold(target.ref ?? 0, items[i])
                try hold(target.ref ?? 0, items[i + 1])
                d.set(items[i], items[i + 1])
            }
        case .object?: break // dict subclasses of opaque classes (EasyDict, ...)
        default: throw invalid("SETITEM on \(graph.describe(target)), not a dict")
        }
    }

    func isOpaque(_ v: PickleValue) -> Bool {
        if case let .global(g)? = graph.node(v) { return g.kind == .unsupported || g.kind == .reconstructor }
        if case .object? = graph.node(v) { return true }
        return false
    }

    // MARK: text-protocol helpers

    func parseTextInt(_ line: String) throws -> PickleValue {
        if line == "00" { return .bool(false) }
        if line == "01" { return .bool(true) }
        guard let v = Int(line) else { throw invalid("integer '\(line.prefix(40))' is not a 64-bit decimal") }
        return .int(v)
    }

    /// A Python 2 `repr` string literal: quoted with ' or ", with backslash escapes.
    static func parseQuotedString(_ line: String) -> String? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 2, let q = bytes.first, q == 0x27 || q == 0x22, bytes.last == q else { return nil }
        var out: [UInt8] = []
        var i = 1
        let end = bytes.count - 1
        while i < end {
            let c = bytes[i]
            guard c == 0x5c, i + 1 < end else { out.append(c); i += 1; continue }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case 0x6e: out.append(0x0a)
            case 0x74: out.append(0x09)
            case 0x72: out.append(0x0d)
            case 0x30: out.append(0)
            case 0x78: // \xNN
                guard i + 1 < end, let v = UInt8(String(decoding: bytes[i ... i + 1], as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                i += 2
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Python's raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, other bytes as they are.
    static func decodeRawUnicodeEscape(_ line: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(line.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == "\\", i + 1 < scalars.count, scalars[i + 1] == "u" || scalars[i + 1] == "U" {
                let width = scalars[i + 1] == "u" ? 4 : 8
                if i + 2 + width <= scalars.count,
                   let v = UInt32(String(String.UnicodeScalarView(scalars[(i + 2) ..< (i + 2 + width)])), radix: 16),
                   let s = Unicode.Scalar(v) {
                    out.append(s)
                    i += 2 + width
                    continue
                }
            }
            out.append(scalars[i])
            i += 1
        }
        return String(out)
    }
}

/// A pickle protocol 2 emitter for the handful of value kinds a torch.save state dict holds,
/// choosing opcodes and memo slots exactly as CPython's C pickler (`_pickle.c`) does at protocol
/// 2, so that what torch's pickler writes can be reproduced byte for byte:
/// - every string, global and non-empty tuple is memoised when first written (BINPUT, LONG_BINPUT
///   from slot 256); writing the same Python object again is a BINGET (LONG_BINGET) of its slot.
///   Identity is the caller's business: `identity` names an object that recurs (torch's one
///   `"storage"` constant, one location string, each class), anything else is a new object;
/// - integers as BININT1 / BININT2 / BININT / LONG1, by size;
/// - tuples of 1 to 3 items as TUPLE1-3, longer ones as MARK ... TUPLE, the empty one as an
///   unmemoised EMPTY_TUPLE;
/// - strings as BINUNICODE (protocol 2 has no shorter form).
struct PickleWriter {
    private(set) var bytes: [UInt8]
    private var memo: [String: Int] = [:]
    private var memoCount = 0

    init() {
        bytes = [PickleOpcode.proto.rawValue, 2]
    }

    mutating func op(_ code: PickleOpcode) { bytes.append(code.rawValue) }

    /// A new memo slot for the object just written (the pickler's `memo_put`).
    private mutating func memoize(_ identity: String?) {
        let slot = memoCount
        memoCount += 1
        if let identity { memo[identity] = slot }
        if slot < 256 {
            op(.binput); bytes.append(UInt8(slot))
        } else {
            op(.longBinput); appendLE(UInt32(slot))
        }
    }

    /// Writes a BINGET of `identity`'s slot if it was written before; false if not.
    private mutating func recall(_ identity: String?) -> Bool {
        guard let identity, let slot = memo[identity] else { return false }
        if slot < 256 {
            op(.binget); bytes.append(UInt8(slot))
        } else {
            op(.longBinget); appendLE(UInt32(slot))
        }
        return true
    }

    /// `module.name` (GLOBAL); the same global again is a memo get.
    mutating func global(_ module: String, _ name: String) {
        let identity = "global \(module) \(name)"
        if recall(identity) { return }
        op(.global)
        bytes += Array(module.utf8); bytes.append(0x0a)
        bytes += Array(name.utf8); bytes.append(0x0a)
        memoize(identity)
    }

    /// A str; `identity` names an object written more than once.
    mutating func string(_ s: String, identity: String? = nil) {
        if recall(identity.map { "str \($0)" }) { return }
        let utf8 = Array(s.utf8)
        op(.binunicode)
        appendLE(UInt32(utf8.count))
        bytes += utf8
        memoize(identity.map { "str \($0)" })
    }

    /// An int (never memoised).
    mutating func int(_ v: Int) {
        if v >= 0, v <= 0xff {
            op(.binint1); bytes.append(UInt8(v))
        } else if v >= 0, v <= 0xffff {
            op(.binint2); appendLE(UInt16(v))
        } else if v >= Int(Int32.min), v <= Int(Int32.max) {
            op(.binint); appendLE(Int32(v))
        } else {
            // LONG1: little-endian two's complement, as short as keeps the sign (encode_long).
            var le = withUnsafeBytes(of: v.littleEndian) { Array($0) }
            while le.count > 1, (le[le.count - 1] == 0 && le[le.count - 2] < 0x80)
                || (le[le.count - 1] == 0xff && le[le.count - 2] >= 0x80) {
                le.removeLast()
            }
            op(.long1); bytes.append(UInt8(le.count)); bytes += le
        }
    }

    mutating func bool(_ v: Bool) { op(v ? .newtrue : .newfalse) }

    /// A tuple of `count` items written by `items`, memoised unless empty.
    mutating func tuple(count: Int, _ items: (inout PickleWriter) -> Void) {
        switch count {
        case 0:
            op(.emptyTuple)
        case 1 ... 3:
            items(&self)
            op(count == 1 ? .tuple1 : count == 2 ? .tuple2 : .tuple3)
            memoize(nil)
        default:
            op(.mark)
            items(&self)
            op(.tuple)
            memoize(nil)
        }
    }

    /// A tuple of ints (a shape or a stride).
    mutating func intTuple(_ values: [Int]) {
        tuple(count: values.count) { w in for v in values { w.int(v) } }
    }

    /// `callable(*args)`: the callable and the argument tuple are already written; the result is
    /// a new object, memoised.
    mutating func reduce() {
        op(.reduce)
        memoize(nil)
    }

    mutating func stop() { op(.stop) }

    private mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// The pickle opcodes the writer uses (Lib/pickle.py names them).
enum PickleOpcode: UInt8 {
    case proto = 0x80, stop = 0x2e, mark = 0x28
    case global = 0x63, reduce = 0x52, binpersid = 0x51
    case binput = 0x71, longBinput = 0x72, binget = 0x68, longBinget = 0x6a
    case binint1 = 0x4b, binint2 = 0x4d, binint = 0x4a, long1 = 0x8a
    case newtrue = 0x88, newfalse = 0x89
    case binunicode = 0x58
    case emptyTuple = 0x29, tuple = 0x74, tuple1 = 0x85, tuple2 = 0x86, tuple3 = 0x87
    case setitem = 0x73, setitems = 0x75
}

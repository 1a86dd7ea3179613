/// What can be wrong with a pickle. Every case names the file and the offset of the opcode.
public enum PickleError: Error, Equatable, CustomStringConvertible {
    /// The pickle ends before an opcode's operands (or before STOP).
    case truncated(path: String, offset: Int, needed: Int)
    case unknownOpcode(path: String, offset: Int, opcode: UInt8)
    /// An opcode this reader never supports (extension registry, out-of-band buffers).
    case unsupportedOpcode(path: String, offset: Int, opcode: String, reason: String)
    case unsupportedProtocol(path: String, offset: Int, version: Int)
    /// An opcode needs more stack items (or a MARK) than there are.
    case stackUnderflow(path: String, offset: Int, opcode: String)
    /// A bound from `PickleLimits` was reached (stack, marks, memo, nesting depth, ...).
    case limitExceeded(path: String, offset: Int, what: String, limit: Int)
    case memoMissing(path: String, offset: Int, index: Int)
    /// A global from a denied module (os, sys, subprocess, ...) or a builtin that is not a plain
    /// constructor (eval, exec, getattr, ...). Nothing is ever imported or run; the file is refused.
    case disallowedGlobal(path: String, module: String, name: String, offset: Int)
    /// An allowlisted callable got arguments it does not take.
    case invalidCall(path: String, offset: Int, function: String, detail: String)
    /// An opcode applied to a value it does not work on (APPEND to a dict, ...), or a malformed
    /// operand (text integer, persistent id).
    case invalidOperation(path: String, offset: Int, opcode: String, detail: String)

    public var description: String {
        switch self {
        case let .truncated(path, offset, needed):
            return "\(path): pickle truncated at offset \(offset) (needed \(needed) more bytes)"
        case let .unknownOpcode(path, offset, opcode):
            return "\(path): unknown pickle opcode 0x\(String(opcode, radix: 16)) at offset \(offset)"
        case let .unsupportedOpcode(path, offset, opcode, reason):
            return "\(path): pickle opcode \(opcode) at offset \(offset) is not supported: \(reason)"
        case let .unsupportedProtocol(path, offset, version):
            return "\(path): pickle protocol \(version) at offset \(offset) is not supported (0-5 are)"
        case let .stackUnderflow(path, offset, opcode):
            return "\(path): pickle opcode \(opcode) at offset \(offset) finds too few values on the stack"
        case let .limitExceeded(path, offset, what, limit):
            return "\(path): pickle at offset \(offset) exceeds the limit on \(what) (\(limit))"
        case let .memoMissing(path, offset, index):
            return "\(path): pickle at offset \(offset) reads memo entry \(index), which was never stored"
        case let .disallowedGlobal(path, module, name, offset):
            return "\(path): pickle refers to the global \(module).\(name) at offset \(offset), which is never allowed (nothing was executed)"
        case let .invalidCall(path, offset, function, detail):
            return "\(path): pickle calls \(function) at offset \(offset) with invalid arguments: \(detail)"
        case let .invalidOperation(path, offset, opcode, detail):
            return "\(path): pickle opcode \(opcode) at offset \(offset): \(detail)"
        }
    }
}

/// Bounds the unpickler enforces. The defaults hold any real checkpoint with a wide margin
/// (a state_dict pickle needs a stack of a few thousand, a handful of MARKs and depth < 20).
public struct PickleLimits: Sendable, Equatable {
    /// Values on the stack at once.
    public var maxStack = 1 << 20
    /// Open MARKs at once.
    public var maxMarks = 1000
    /// Memo entries.
    public var maxMemo = 1 << 22
    /// Nesting depth of containers (Python itself cannot pickle deeper than ~1000).
    public var maxDepth = 1000
    /// Composite values created in one file.
    public var maxNodes = 1 << 24
    /// Tensor rank.
    public var maxRank = 32
    /// Elements in all: items given to containers (MARK-delimited groups, APPEND, SETITEM) plus
    /// memo entries. The budget of one pickle is the smaller of this and half its length in
    /// bytes (at least 4096), so the work and memory of unpickling are bounded by the file's
    /// size whatever it declares: a real state dict's pickle spends ~6 bytes per element (an
    /// EfficientNet-B7 checkpoint with EMA and optimizer state: ~60,000 elements), while a
    /// hostile one of 10 million one-byte `None`s or small dict entries is refused within
    /// 2^19 elements, in about a second and ~100 MB (docs/HOSTILE_INPUT.md).
    public var maxElements = 1 << 19

    public init() {}
    public static let `default` = PickleLimits()
}

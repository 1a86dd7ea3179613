import Foundation

/// A JSON value, as Keras configs hold them. Sendable and comparable, unlike Foundation's `Any`.
public indirect enum KerasJSON: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([KerasJSON])
    case object([String: KerasJSON])

    /// Parses JSON text (Foundation's decoder, which refuses nesting past 512 levels). JSON5
    /// is allowed because Python's json module writes NaN and Infinity bare.
    /// - Throws: `KerasJSONError` naming `source` when the text is not JSON.
    public static func parse(_ text: String, source: String) throws -> KerasJSON {
        // Say what is wrong with a too deeply nested document (Foundation's own error for it
        // reads like a syntax error).
        if let depth = nestingBeyond(maxDepth, in: text) {
            throw KerasJSONError(source: source, detail: "JSON nested more than \(maxDepth) levels deep (at byte \(depth)); a Keras config is a few levels deep")
        }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do {
            return try decoder.decode(KerasJSON.self, from: Data(text.utf8))
        } catch {
            throw KerasJSONError(source: source, detail: "not valid JSON (\(error))")
        }
    }

    /// Deepest nesting accepted (Foundation's decoder refuses beyond 512).
    static let maxDepth = 512

    /// The byte offset where `text` first nests deeper than `limit` arrays/objects (outside
    /// strings), or nil. One linear pass.
    static func nestingBeyond(_ limit: Int, in text: String) -> Int? {
        var depth = 0, inString = false, escaped = false
        for (i, b) in text.utf8.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return i }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return nil
    }

    public subscript(key: String) -> KerasJSON? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    public subscript(index: Int) -> KerasJSON? {
        if case let .array(a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var number: Double? { if case let .number(n) = self { return n }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [KerasJSON]? { if case let .array(a) = self { return a }; return nil }
    public var isNull: Bool { self == .null }

    /// An integer value (a JSON number without a fractional part).
    public var int: Int? {
        guard let n = number, n.rounded() == n, abs(n) < 1e15 else { return nil }
        return Int(n)
    }

    /// Numbers in nested arrays, flattened in order ([[[[1, 2, 3]]]] -> [1, 2, 3]); a plain
    /// number is a list of one; nil when anything else is inside.
    public var flattenedNumbers: [Double]? {
        switch self {
        case let .number(n): return [n]
        case let .array(a):
            var r: [Double] = []
            for v in a {
                guard let inner = v.flattenedNumbers else { return nil }
                r += inner
            }
            return r
        default: return nil
        }
    }
}

public struct KerasJSONError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var detail: String
    public var description: String { "\(source): \(detail)" }
}

extension KerasJSON {
    /// Strict: `true` is never a number and `1` never a boolean.
    public init(from decoder: Decoder) throws {
        if let c = try? decoder.singleValueContainer() {
            if c.decodeNil() { self = .null; return }
            if let b = try? c.decode(Bool.self) { self = .bool(b); return }
            if let n = try? c.decode(Double.self) { self = .number(n); return }
            if let s = try? c.decode(String.self) { self = .string(s); return }
            if let a = try? c.decode([KerasJSON].self) { self = .array(a); return }
            if let o = try? c.decode([String: KerasJSON].self) { self = .object(o); return }
        }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a JSON value"))
    }
}

import Foundation
import EffNetONNX

/// A serialized TensorProto as onnx's test-data writer stores it (input_N.pb / output_N.pb),
/// decoded here with a small wire-format reader of its own rather than the library's protobuf-c
/// path, so that the conformance test does not lean on the code it checks.
struct TensorProtoFile {
    var name = ""
    var dataType: Int32 = 0
    var dims: [Int] = []
    var raw: [UInt8]?
    var floatData: [Float] = []
    var int32Data: [Int32] = []
    var int64Data: [Int64] = []
    var doubleData: [Double] = []
    var hasStrings = false

    enum DecodeError: Error, CustomStringConvertible {
        case malformed(String)
        var description: String { switch self { case let .malformed(s): return "malformed TensorProto: \(s)" } }
    }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var r = Reader(bytes: bytes)
        while !r.atEnd {
            let key = try r.varint()
            let field = Int(key >> 3), wire = Int(key & 7)
            switch (field, wire) {
            case (1, 0): dims.append(Int(Int64(bitPattern: try r.varint())))
            case (1, 2): for v in try r.packedVarints() { dims.append(Int(Int64(bitPattern: v))) }
            case (2, 0): dataType = Int32(truncatingIfNeeded: try r.varint())
            case (4, 2): floatData += try r.lengthDelimited().chunks(4).map { Float(bitPattern: UInt32(littleEndianBytes: $0)) }
            case (4, 5): floatData.append(Float(bitPattern: UInt32(try r.fixed(4))))
            case (5, 0): int32Data.append(Int32(truncatingIfNeeded: try r.varint()))
            case (5, 2): int32Data += try r.packedVarints().map { Int32(truncatingIfNeeded: $0) }
            case (6, 2): _ = try r.lengthDelimited(); hasStrings = true
            case (7, 0): int64Data.append(Int64(bitPattern: try r.varint()))
            case (7, 2): int64Data += try r.packedVarints().map { Int64(bitPattern: $0) }
            case (8, 2): name = String(decoding: try r.lengthDelimited(), as: UTF8.self)
            case (9, 2): raw = try r.lengthDelimited()
            case (10, 2): doubleData += try r.lengthDelimited().chunks(8).map { Double(bitPattern: UInt64(littleEndianBytes: $0)) }
            case (10, 1): doubleData.append(Double(bitPattern: try r.fixed(8)))
            default: try r.skip(wire: wire)
            }
        }
    }

    var type: ONNXDataType? { ONNXDataType(rawValue: dataType) }

    /// The tensor as an interpreter value, or nil for element types the interpreter cannot hold
    /// (strings, unsigned 16-64 bit, complex, float8/int4, ...).
    func array() throws -> ONNXArray? {
        guard !hasStrings, let type, let dtype = type.dtype else { return nil }
        let count = dims.reduce(1, *)
        if let raw {
            guard raw.count == count * dtype.size else { throw DecodeError.malformed("\(raw.count) raw bytes for \(type.name) \(dims)") }
            let chunks = raw.chunks(dtype.size)
            switch type {
            case .float: return ONNXArray(floats: chunks.map { Float(bitPattern: UInt32(littleEndianBytes: $0)) }, shape: dims)
            case .double:
                return ONNXArray(doubles: chunks.map { Double(bitPattern: UInt64(littleEndianBytes: $0)) }, shape: dims, type: .double)
            case .float16:
                return ONNXArray(floats: chunks.map { Float(Float16(bitPattern: UInt16(littleEndianBytes: $0))) }, shape: dims, type: .float16)
            case .bfloat16:
                return ONNXArray(floats: chunks.map { Float(bitPattern: UInt32(UInt16(littleEndianBytes: $0)) << 16) }, shape: dims, type: .bfloat16)
            case .int64: return ONNXArray(ints: chunks.map { Int64(bitPattern: UInt64(littleEndianBytes: $0)) }, shape: dims, type: type)
            case .int32: return ONNXArray(ints: chunks.map { Int64(Int32(bitPattern: UInt32(littleEndianBytes: $0))) }, shape: dims, type: type)
            case .int16: return ONNXArray(ints: chunks.map { Int64(Int16(bitPattern: UInt16(littleEndianBytes: $0))) }, shape: dims, type: type)
            case .int8: return ONNXArray(ints: chunks.map { Int64(Int8(bitPattern: $0.first!)) }, shape: dims, type: type)
            case .uint8, .bool: return ONNXArray(ints: chunks.map { Int64($0.first!) }, shape: dims, type: type)
            default: return nil
            }
        }
        if count == 0 { return type.isFloatingPoint ? ONNXArray(floats: [], shape: dims, type: type) : ONNXArray(ints: [], shape: dims, type: type) }
        let stored = [floatData.count, doubleData.count, int64Data.count, int32Data.count].max()!
        guard stored == count else { throw DecodeError.malformed("\(stored) typed values for \(type.name) \(dims)") }
        switch type {
        case .float: return ONNXArray(floats: floatData, shape: dims)
        case .double: return ONNXArray(doubles: doubleData, shape: dims, type: .double)
        case .int64: return ONNXArray(ints: int64Data, shape: dims, type: type)
        case .int32, .int16, .int8, .uint8, .bool: return ONNXArray(ints: int32Data.map { Int64($0) }, shape: dims, type: type)
        default: return nil
        }
    }

    /// The protobuf wire format, just what TensorProto uses.
    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        var atEnd: Bool { at >= bytes.count }

        mutating func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < bytes.count, shift < 64 else { throw DecodeError.malformed("truncated varint") }
                let b = bytes[at]; at += 1
                v |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }

        mutating func fixed(_ n: Int) throws -> UInt64 {
            guard at + n <= bytes.count else { throw DecodeError.malformed("truncated fixed field") }
            defer { at += n }
            return UInt64(littleEndianBytes: bytes[at ..< at + n])
        }

        mutating func lengthDelimited() throws -> [UInt8] {
            let n = Int(try varint())
            guard n >= 0, at + n <= bytes.count else { throw DecodeError.malformed("field length \(n) past the end") }
            defer { at += n }
            return Array(bytes[at ..< at + n])
        }

        mutating func packedVarints() throws -> [UInt64] {
            var sub = Reader(bytes: try lengthDelimited())
            var out: [UInt64] = []
            while !sub.atEnd { out.append(try sub.varint()) }
            return out
        }

        mutating func skip(wire: Int) throws {
            switch wire {
            case 0: _ = try varint()
            case 1: _ = try fixed(8)
            case 2: _ = try lengthDelimited()
            case 5: _ = try fixed(4)
            default: throw DecodeError.malformed("wire type \(wire)")
            }
        }
    }
}

private extension Array where Element == UInt8 {
    func chunks(_ size: Int) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: count - size + 1, by: size).map { self[$0 ..< $0 + size] }
    }
}

private extension FixedWidthInteger {
    init<C: Collection>(littleEndianBytes bytes: C) where C.Element == UInt8 {
        var v = Self.zero
        for (i, b) in bytes.enumerated() { v |= Self(b) << (8 * i) }
        self = v
    }
}

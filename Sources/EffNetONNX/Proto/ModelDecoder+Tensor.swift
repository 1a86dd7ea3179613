import CProtobufC
import EffNet
import ONNXProto

extension ModelDecoder {
    /// A TensorProto's bytes, from exactly one of: external data, raw_data, or the typed field its
    /// data_type uses (float_data; int32_data for int8/16/32, uint8, bool, float16 and bfloat16 bit
    /// patterns; int64_data; double_data). Counts are checked against dtype x shape.
    /// - Throws: `ONNXError.unsupportedDataType`, `.tensorData`, `.externalData`, `.invalid`.
    func tensor(_ t: UnsafePointer<Onnx__TensorProto>, place: String) throws -> ONNXTensor {
        let p = t.pointee
        let name = Self.string(p.name)
        let label = name.isEmpty ? "(\(place))" : name
        func fail(_ detail: String) -> ONNXError { .tensorData(path: path, tensor: label, detail: detail) }

        guard p.segment == nil else { throw fail("segmented tensors are not supported") }
        let rawType = p.has_data_type != 0 ? p.data_type : 0
        guard let type = ONNXDataType(rawValue: rawType), let dtype = type.dtype else {
            throw ONNXError.unsupportedDataType(path: path, tensor: label, dataType: rawType)
        }
        let dims64 = Self.array(p.n_dims, p.dims)
        guard dims64.count <= Self.maxRank else { throw fail("rank \(dims64.count) exceeds \(Self.maxRank)") }
        guard dims64.allSatisfy({ $0 >= 0 && $0 <= Int64(Int.max) }) else { throw fail("negative dimension in \(dims64)") }
        let dims = dims64.map { Int($0) }
        guard let count = CheckedSize.product(dims), let byteCount = CheckedSize.multiply(count, dtype.size) else {
            throw fail("shape \(dims) overflows")
        }

        let isExternal = p.has_data_location != 0 && p.data_location.rawValue == 1
        let typedCounts = [p.n_float_data, p.n_int32_data, p.n_int64_data, p.n_double_data, p.n_uint64_data, p.n_string_data]
        let sources = (isExternal ? 1 : 0) + (p.has_raw_data != 0 ? 1 : 0) + typedCounts.filter { $0 > 0 }.count
        guard sources <= 1 else { throw fail("data stored in more than one place (raw_data, typed fields, external)") }
        if !isExternal && p.n_external_data > 0 { throw fail("external_data entries without data_location EXTERNAL") }

        if isExternal {
            let entries = Self.messages(p.n_external_data, p.external_data).map {
                (key: Self.bytes($0.pointee.key), value: Self.bytes($0.pointee.value))
            }
            let view = try external.view(tensor: label, entries: entries, expectedBytes: byteCount)
            let raw = try RawTensor(dtype: dtype, shape: dims, storage: view.storage)
            return ONNXTensor(name: name, dataType: type, dims: dims, raw: raw,
                              location: .external(path: view.path, offset: view.offset, length: byteCount))
        }

        let storage: ByteStorage
        if p.has_raw_data != 0 {
            guard p.raw_data.len == byteCount else {
                throw fail("raw_data holds \(p.raw_data.len) bytes, \(type.name) \(dims) needs \(byteCount)")
            }
            storage = ByteStorage(copying: UnsafeRawBufferPointer(start: p.raw_data.data, count: byteCount))
        } else if sources == 0 {
            guard count == 0 else { throw fail("\(type.name) \(dims) has no data") }
            storage = ByteStorage([])
        } else {
            storage = try typedStorage(p, type: type, count: count, fail: fail)
        }
        return ONNXTensor(name: name, dataType: type, dims: dims, raw: try RawTensor(dtype: dtype, shape: dims, storage: storage))
    }

    /// Little-endian bytes for the typed field that `type` uses.
    private func typedStorage(_ p: Onnx__TensorProto, type: ONNXDataType, count: Int,
                              fail: (String) -> ONNXError) throws -> ByteStorage {
        func check(_ n: Int, _ field: String) throws {
            guard n == count else { throw fail("\(field) holds \(n) values, \(type.name) needs \(count)") }
        }
        func wrongField() -> ONNXError { fail("\(type.name) data is not in the field the spec assigns to it") }
        switch type {
        case .float:
            try check(p.n_float_data, "float_data")
            return ByteStorage(copying: UnsafeRawBufferPointer(start: p.float_data, count: count * 4))
        case .double:
            try check(p.n_double_data, "double_data")
            return ByteStorage(copying: UnsafeRawBufferPointer(start: p.double_data, count: count * 8))
        case .int64:
            try check(p.n_int64_data, "int64_data")
            return ByteStorage(copying: UnsafeRawBufferPointer(start: p.int64_data, count: count * 8))
        case .int32, .int16, .int8, .uint8, .bool, .float16, .bfloat16:
            try check(p.n_int32_data, "int32_data")
            let values = Self.array(p.n_int32_data, p.int32_data)
            if type == .int32 {
                return values.withUnsafeBytes { ByteStorage(copying: $0) }
            }
            // Narrow each value after checking its range (16-bit floats are stored as bit patterns).
            let range: ClosedRange<Int32>
            switch type {
            case .int16: range = -32768 ... 32767
            case .int8: range = -128 ... 127
            case .uint8: range = 0 ... 255
            case .bool: range = 0 ... 1
            default: range = -32768 ... 65535
            }
            if let bad = values.firstIndex(where: { !range.contains($0) }) {
                throw fail("int32_data[\(bad)] = \(values[bad]) does not fit \(type.name)")
            }
            let size = type.dtype?.size ?? 1
            var bytes = [UInt8](repeating: 0, count: count * size)
            for (i, v) in values.enumerated() {
                let bits = UInt16(truncatingIfNeeded: v)
                bytes[i * size] = UInt8(truncatingIfNeeded: bits)
                if size == 2 { bytes[i * size + 1] = UInt8(truncatingIfNeeded: bits >> 8) }
            }
            return ByteStorage(bytes)
        default:
            throw wrongField()
        }
    }
}

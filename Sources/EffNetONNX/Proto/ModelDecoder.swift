import CProtobufC
import EffNet
import ONNXProto

/// Copies what EffNetKit needs out of an unpacked ModelProto into Swift values, validating as it
/// goes. Nothing here keeps a pointer into the protobuf tree, which is freed right after.
struct ModelDecoder {
    let path: String
    let external: ExternalDataResolver

    struct Decoded {
        var irVersion: Int64
        var producerName, producerVersion, domain, docString: String
        var modelVersion: Int64
        var opsetImports: [(domain: String, version: Int64)]
        var metadata: [(key: String, value: String)]
        var graph: ONNXGraph
        var functions: [ONNXFunction]
    }

    /// Largest tensor rank accepted.
    static let maxRank = 32

    func invalid(_ place: String, _ detail: String) -> ONNXError { .invalid(path: path, place: place, detail: detail) }

    /// - Throws: `ONNXError`.
    func model(_ m: UnsafePointer<Onnx__ModelProto>) throws -> Decoded {
        let p = m.pointee
        guard let g = p.graph else { throw ONNXError.missingGraph(path: path) }
        let opsets = Self.messages(p.n_opset_import, p.opset_import).map {
            (domain: Self.string($0.pointee.domain), version: $0.pointee.has_version != 0 ? $0.pointee.version : 0)
        }
        let metadata = Self.messages(p.n_metadata_props, p.metadata_props).map {
            // `bytes` in the schema (see StringStringEntryProto); informational only, so decoded
            // leniently (invalid UTF-8 becomes U+FFFD, as String(cString:) did before).
            (key: String(decoding: Self.bytes($0.pointee.key), as: UTF8.self),
             value: String(decoding: Self.bytes($0.pointee.value), as: UTF8.self))
        }
        let functions = try Self.messages(p.n_functions, p.functions).map { try function($0) }
        return Decoded(irVersion: p.has_ir_version != 0 ? p.ir_version : 0,
                       producerName: Self.string(p.producer_name), producerVersion: Self.string(p.producer_version),
                       domain: Self.string(p.domain), docString: Self.string(p.doc_string),
                       modelVersion: p.has_model_version != 0 ? p.model_version : 0,
                       opsetImports: opsets, metadata: metadata, graph: try graph(g), functions: functions)
    }

    func graph(_ g: UnsafePointer<Onnx__GraphProto>) throws -> ONNXGraph {
        let p = g.pointee
        var initializers: [ONNXTensor] = []
        var seen = Set<String>()
        for t in Self.messages(p.n_initializer, p.initializer) {
            let tensor = try self.tensor(t, place: "initializer")
            guard !tensor.name.isEmpty else { throw invalid("initializer #\(initializers.count)", "has no name") }
            guard seen.insert(tensor.name).inserted else { throw invalid("initializer '\(tensor.name)'", "appears twice") }
            initializers.append(tensor)
        }
        let nodes = try Self.messages(p.n_node, p.node).enumerated().map { try node($0.element, index: $0.offset) }
        return ONNXGraph(name: Self.string(p.name), nodes: nodes, initializers: initializers,
                         inputs: try Self.messages(p.n_input, p.input).map { try valueInfo($0) },
                         outputs: try Self.messages(p.n_output, p.output).map { try valueInfo($0) },
                         valueInfo: try Self.messages(p.n_value_info, p.value_info).map { try valueInfo($0) })
    }

    func function(_ f: UnsafePointer<Onnx__FunctionProto>) throws -> ONNXFunction {
        let p = f.pointee
        return ONNXFunction(name: Self.string(p.name), domain: Self.string(p.domain),
                            inputs: Self.strings(p.n_input, p.input), outputs: Self.strings(p.n_output, p.output),
                            attributeNames: Self.strings(p.n_attribute, p.attribute),
                            nodes: try Self.messages(p.n_node, p.node).enumerated().map { try node($0.element, index: $0.offset) })
    }

    func node(_ n: UnsafePointer<Onnx__NodeProto>, index: Int) throws -> ONNXNode {
        let p = n.pointee
        let name = Self.string(p.name)
        let place = name.isEmpty ? "node #\(index) (\(Self.string(p.op_type)))" : "node '\(name)'"
        let opType = Self.string(p.op_type)
        guard !opType.isEmpty else { throw invalid(place, "has no op_type") }
        var attributes: [(name: String, value: ONNXAttribute)] = []
        for a in Self.messages(p.n_attribute, p.attribute) {
            let attrName = Self.string(a.pointee.name)
            guard !attrName.isEmpty else { throw invalid(place, "an attribute has no name") }
            guard !attributes.contains(where: { $0.name == attrName }) else { throw invalid(place, "attribute '\(attrName)' appears twice") }
            attributes.append((attrName, try attribute(a, place: "\(place) attribute '\(attrName)'")))
        }
        let outputs = Self.strings(p.n_output, p.output)
        return ONNXNode(name: name, opType: opType, domain: Self.string(p.domain), inputs: Self.strings(p.n_input, p.input),
                        outputs: outputs, attributes: attributes)
    }

    func attribute(_ a: UnsafePointer<Onnx__AttributeProto>, place: String) throws -> ONNXAttribute {
        let p = a.pointee
        if !Self.string(p.ref_attr_name).isEmpty { return .unsupported(type: Int32(truncatingIfNeeded: p.type.rawValue)) }
        var type: Int32 = p.has_type != 0 ? Int32(truncatingIfNeeded: p.type.rawValue) : 0
        if type == 0 {  // IR < 0.0.2 files may omit the type: infer it from the field that is set
            if p.has_f != 0 { type = 1 } else if p.has_i != 0 { type = 2 } else if p.has_s != 0 { type = 3 }
            else if p.t != nil { type = 4 } else if p.n_floats > 0 { type = 6 } else if p.n_ints > 0 { type = 7 }
            else if p.n_strings > 0 { type = 8 } else if p.n_tensors > 0 { type = 9 }
        }
        switch type {
        case 1: return .float(p.f)
        case 2: return .int(p.i)
        case 3: return .string(Self.bytes(p.s))
        case 4:
            guard let t = p.t else { throw invalid(place, "TENSOR attribute without a tensor") }
            return .tensor(try tensor(t, place: place))
        case 6: return .floats(Self.array(p.n_floats, p.floats))
        case 7: return .ints(Self.array(p.n_ints, p.ints))
        case 8: return .strings(Self.array(p.n_strings, p.strings).map { Self.bytes($0) })
        case 9: return .tensors(try Self.messages(p.n_tensors, p.tensors).map { try tensor($0, place: place) })
        default: return .unsupported(type: type)
        }
    }

    func valueInfo(_ v: UnsafePointer<Onnx__ValueInfoProto>) throws -> ONNXValueInfo {
        let p = v.pointee
        let name = Self.string(p.name)
        guard let type = p.type else { return ONNXValueInfo(name: name, elementType: nil, shape: nil) }
        // The schema here knows only tensor_type: any other type (sequence, map, optional, sparse)
        // is an unknown field, so the value case is unset.
        guard type.pointee.value_case.rawValue == 1, let tt = type.pointee.tensor_type else {
            return ONNXValueInfo(name: name, elementType: nil, shape: nil, nonTensor: true)
        }
        let elem = tt.pointee.has_elem_type != 0 ? tt.pointee.elem_type : nil
        guard let shape = tt.pointee.shape else { return ONNXValueInfo(name: name, elementType: elem, shape: nil) }
        let dims = Self.messages(shape.pointee.n_dim, shape.pointee.dim)
        guard dims.count <= Self.maxRank else { throw invalid("value '\(name)'", "rank \(dims.count) exceeds \(Self.maxRank)") }
        let out: [ONNXValueInfo.Dimension] = dims.map { d in
            switch d.pointee.value_case.rawValue {
            case 1: return d.pointee.dim_value >= 0 && d.pointee.dim_value <= Int64(Int32.max) ? .value(Int(d.pointee.dim_value)) : .unknown
            case 2: return .param(Self.string(d.pointee.dim_param))
            default: return .unknown
            }
        }
        return ONNXValueInfo(name: name, elementType: elem, shape: out)
    }

    // MARK: - C access helpers (nil-safe; counts come from protobuf-c and match its arrays)

    static func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p)
    }

    static func bytes(_ b: ProtobufCBinaryData) -> [UInt8] {
        guard b.len > 0, let data = b.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: b.len))
    }

    static func strings(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard n > 0, let p else { return [] }
        return (0 ..< n).map { string(p[$0]) }
    }

    static func array<T>(_ n: Int, _ p: UnsafeMutablePointer<T>?) -> [T] {
        guard n > 0, let p else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    static func messages<T>(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) -> [UnsafePointer<T>] {
        guard n > 0, let p else { return [] }
        return (0 ..< n).compactMap { p[$0].map { UnsafePointer($0) } }
    }
}

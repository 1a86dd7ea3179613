import CProtobufC
import ONNXProto

/// Building the protobuf-c ModelProto tree (every allocation in one `ProtobufArena`) and packing
/// it. The reader's mirror image is `ModelDecoder`.
extension ONNXModelWriter {
    /// The ModelProto bytes.
    /// - Throws: `ONNXWriteError.invalidGraph` (see `validate()`), `.tooLarge` beyond protobuf's
    ///   2 GiB, `.serialization` when memory runs out.
    public func serializedBytes() throws -> [UInt8] {
        try validate()
        let arena = ProtobufArena()
        guard let model = buildModel(arena), !arena.failed else {
            throw ONNXWriteError.serialization(graph: graphName, detail: "out of memory while building the message")
        }
        let size = onnx__model_proto__get_packed_size(model)
        guard size < Self.maxModelBytes else { throw ONNXWriteError.tooLarge(graph: graphName, bytes: size, limit: Self.maxModelBytes) }
        var written = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            if let base = buffer.baseAddress { written = onnx__model_proto__pack(model, base) }
            count = size
        }
        guard written == size else {
            throw ONNXWriteError.serialization(graph: graphName, detail: "protobuf-c wrote \(written) of \(size) bytes")
        }
        return bytes
    }

    private func buildModel(_ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__ModelProto>? {
        guard let graph = a.message(Onnx__GraphProto.self, { onnx__graph_proto__init($0) }),
              let model = a.message(Onnx__ModelProto.self, { onnx__model_proto__init($0) }),
              let opset = a.message(Onnx__OperatorSetIdProto.self, { onnx__operator_set_id_proto__init($0) }) else { return nil }
        opset.pointee.domain = a.string("")
        opset.pointee.has_version = 1
        opset.pointee.version = opsetVersion

        graph.pointee.name = a.string(graphName)
        graph.pointee.n_node = nodes.count
        graph.pointee.node = a.pointers(nodes.map { node($0, a) })
        graph.pointee.n_initializer = initializers.count
        graph.pointee.initializer = a.pointers(initializers.map { tensor($0, a) })
        graph.pointee.n_input = inputs.count
        graph.pointee.input = a.pointers(inputs.map { valueInfo($0, a) })
        graph.pointee.n_output = outputs.count
        graph.pointee.output = a.pointers(outputs.map { valueInfo($0, a) })

        model.pointee.has_ir_version = 1
        model.pointee.ir_version = irVersion
        model.pointee.n_opset_import = 1
        model.pointee.opset_import = a.pointers([opset])
        model.pointee.producer_name = a.string(producerName)
        model.pointee.producer_version = a.string(producerVersion)
        if !docString.isEmpty { model.pointee.doc_string = a.string(docString) }
        model.pointee.graph = graph
        model.pointee.n_metadata_props = metadata.count
        model.pointee.metadata_props = a.pointers(metadata.map { entry($0.key, $0.value, a) })
        return model
    }

    private func node(_ n: Node, _ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__NodeProto>? {
        guard let p = a.message(Onnx__NodeProto.self, { onnx__node_proto__init($0) }) else { return nil }
        p.pointee.op_type = a.string(n.opType)
        p.pointee.name = a.string(n.name)
        p.pointee.domain = a.string("")
        p.pointee.n_input = n.inputs.count
        p.pointee.input = a.copy(n.inputs.map { a.string($0) })
        p.pointee.n_output = n.outputs.count
        p.pointee.output = a.copy(n.outputs.map { a.string($0) })
        p.pointee.n_attribute = n.attributes.count
        p.pointee.attribute = a.pointers(n.attributes.map { attribute($0, a) })
        return p
    }

    private func attribute(_ attr: Attribute, _ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__AttributeProto>? {
        guard let p = a.message(Onnx__AttributeProto.self, { onnx__attribute_proto__init($0) }) else { return nil }
        p.pointee.name = a.string(attr.name)
        p.pointee.has_type = 1
        switch attr.value {
        case let .int(v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
            p.pointee.has_i = 1
            p.pointee.i = v
        case let .ints(v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
            p.pointee.n_ints = v.count
            p.pointee.ints = a.copy(v)
        case let .float(v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
            p.pointee.has_f = 1
            p.pointee.f = v
        case let .floats(v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
            p.pointee.n_floats = v.count
            p.pointee.floats = a.copy(v)
        case let .string(v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
            p.pointee.has_s = 1
            p.pointee.s = binary(Array(v.utf8), a)
        }
        return p
    }

    /// An initializer as little-endian `raw_data` (the form every exporter writes for weights).
    private func tensor(_ t: Initializer, _ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__TensorProto>? {
        guard let p = a.message(Onnx__TensorProto.self, { onnx__tensor_proto__init($0) }) else { return nil }
        p.pointee.name = a.string(t.name)
        p.pointee.n_dims = t.shape.count
        p.pointee.dims = a.copy(t.shape.map(Int64.init))
        p.pointee.has_data_type = 1
        p.pointee.has_raw_data = 1
        switch t.values {
        case let .float(v):
            p.pointee.data_type = ONNXDataType.float.rawValue
            p.pointee.raw_data = littleEndian(v, a)
        case let .int64(v):
            p.pointee.data_type = ONNXDataType.int64.rawValue
            p.pointee.raw_data = littleEndian(v, a)
        }
        return p
    }

    private func valueInfo(_ v: ValueInfo, _ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__ValueInfoProto>? {
        guard let p = a.message(Onnx__ValueInfoProto.self, { onnx__value_info_proto__init($0) }),
              let type = a.message(Onnx__TypeProto.self, { onnx__type_proto__init($0) }),
              let tensor = a.message(Onnx__TypeProto__Tensor.self, { onnx__type_proto__tensor__init($0) }),
              let shape = a.message(Onnx__TensorShapeProto.self, { onnx__tensor_shape_proto__init($0) }) else { return nil }
        let dims: [UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension>?] = v.dimensions.map { d in
            guard let dim = a.message(Onnx__TensorShapeProto__Dimension.self, { onnx__tensor_shape_proto__dimension__init($0) }) else { return nil }
            switch d {
            case let .fixed(n):
                dim.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                dim.pointee.dim_value = Int64(n)
            case let .symbolic(s):
                dim.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                dim.pointee.dim_param = a.string(s)
            }
            return dim
        }
        shape.pointee.n_dim = dims.count
        shape.pointee.dim = a.pointers(dims)
        tensor.pointee.has_elem_type = 1
        tensor.pointee.elem_type = v.elementType
        tensor.pointee.shape = shape
        type.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
        type.pointee.tensor_type = tensor
        p.pointee.name = a.string(v.name)
        p.pointee.type = type
        return p
    }

    private func entry(_ key: String, _ value: String, _ a: ProtobufArena) -> UnsafeMutablePointer<Onnx__StringStringEntryProto>? {
        guard let p = a.message(Onnx__StringStringEntryProto.self, { onnx__string_string_entry_proto__init($0) }) else { return nil }
        p.pointee.has_key = 1
        p.pointee.key = binary(Array(key.utf8), a)
        p.pointee.has_value = 1
        p.pointee.value = binary(Array(value.utf8), a)
        return p
    }

    private func binary(_ bytes: [UInt8], _ a: ProtobufArena) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: a.copy(bytes))
    }

    /// The values' bytes in little-endian order (ONNX's raw_data byte order on every host): one
    /// copy on little-endian hosts.
    private func littleEndian<T>(_ values: [T], _ a: ProtobufArena) -> ProtobufCBinaryData {
        let size = values.count * MemoryLayout<T>.size
        guard let p = a.bytes(size) else { return ProtobufCBinaryData(len: 0, data: nil) }
        values.withUnsafeBytes { src in
            guard let base = src.baseAddress else { return }
            p.copyMemory(from: base, byteCount: size)
            #if _endian(big)
            let width = MemoryLayout<T>.size
            for i in 0 ..< values.count { UnsafeMutableRawBufferPointer(start: p + i * width, count: width).reverse() }
            #endif
        }
        return ProtobufCBinaryData(len: size, data: p.assumingMemoryBound(to: UInt8.self))
    }
}

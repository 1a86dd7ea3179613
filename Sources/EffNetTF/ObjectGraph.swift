import CProtobufC
import TFCheckpointProto

/// The object graph of an object-based (TF2) checkpoint: the `TrackableObjectGraph` proto that
/// `tf.train.Checkpoint` stores under `_CHECKPOINTABLE_OBJECT_GRAPH`. Its bundle keys are object
/// paths ("model/_operations/4/_kernel/.ATTRIBUTES/VARIABLE_VALUE"); the graph gives each
/// variable's full name as the framework knows it ("stem_conv/kernel") and tells optimizer slot
/// variables apart.
///
/// Every node reference is checked to lie inside the graph. Paths are found breadth-first with a
/// visited set, so a graph with cycles (objects may refer back to each other) cannot loop.
public struct ObjectGraph: Sendable {
    public struct Attribute: Sendable, Equatable {
        public var name: String
        public var fullName: String
        public var checkpointKey: String
    }

    public struct Node: Sendable {
        public var children: [(nodeID: Int, localName: String)]
        public var attributes: [Attribute]
        /// (variable node, slot name, slot variable node)
        public var slotVariables: [(original: Int, slot: String, variable: Int)]
    }

    /// Serialized graphs larger than this are refused (a B7's is a few hundred KiB).
    public static let maxBytes = 16 << 20

    public let nodes: [Node]

    /// Decodes and checks a serialized TrackableObjectGraph.
    /// - Throws: `TFCheckpointError.badObjectGraph` naming `path` when the bytes do not decode or
    ///   a reference dangles.
    public init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        func fail(_ detail: String) -> TFCheckpointError { .badObjectGraph(path: path, detail: detail) }
        guard bytes.count <= Self.maxBytes else { throw fail("\(bytes.count) bytes exceed the limit of \(Self.maxBytes)") }
        var empty: UInt8 = 0
        let message: UnsafeMutablePointer<Tensorflow__TrackableObjectGraph>? = withUnsafePointer(to: &empty) { e in
            let base = bytes.count > 0 ? bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) : nil
            return tensorflow__trackable_object_graph__unpack(nil, bytes.count, base ?? e)
        }
        guard let message else { throw fail("not a TrackableObjectGraph") }
        defer { tensorflow__trackable_object_graph__free_unpacked(message, nil) }
        func string(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

        let count = message.pointee.n_nodes
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        for i in 0 ..< count {
            guard let n = message.pointee.nodes[i]?.pointee else { throw fail("node \(i) missing") }
            var node = Node(children: [], attributes: [], slotVariables: [])
            for j in 0 ..< n.n_children {
                guard let c = n.children[j]?.pointee else { continue }
                guard c.node_id >= 0, Int(c.node_id) < count else {
                    throw fail("node \(i)'s child '\(string(c.local_name))' refers to node \(c.node_id); the graph has \(count)")
                }
                node.children.append((Int(c.node_id), string(c.local_name)))
            }
            for j in 0 ..< n.n_attributes {
                guard let a = n.attributes[j]?.pointee else { continue }
                node.attributes.append(Attribute(name: string(a.name), fullName: string(a.full_name), checkpointKey: string(a.checkpoint_key)))
            }
            for j in 0 ..< n.n_slot_variables {
                guard let s = n.slot_variables[j]?.pointee else { continue }
                for id in [s.original_variable_node_id, s.slot_variable_node_id] where id < 0 || Int(id) >= count {
                    throw fail("node \(i)'s slot variable '\(string(s.slot_name))' refers to node \(id); the graph has \(count)")
                }
                node.slotVariables.append((Int(s.original_variable_node_id), string(s.slot_name), Int(s.slot_variable_node_id)))
            }
            nodes.append(node)
        }
        self.nodes = nodes
    }

    /// Checkpoint key -> the variable's full name, for attributes that carry one.
    public var fullNames: [String: String] {
        var out: [String: String] = [:]
        for n in nodes { for a in n.attributes where !a.fullName.isEmpty && !a.checkpointKey.isEmpty { out[a.checkpointKey] = a.fullName } }
        return out
    }

    /// Checkpoint keys of optimizer slot variables (Adam's m and v, momentum, ...).
    public var slotVariableKeys: Set<String> {
        var out = Set<String>()
        for n in nodes {
            for s in n.slotVariables { for a in nodes[s.variable].attributes { out.insert(a.checkpointKey) } }
        }
        return out
    }

    /// Each node's first object path from node 0 ("model/_operations/4"), breadth first;
    /// unreachable nodes have none.
    public var paths: [Int: String] {
        guard !nodes.isEmpty else { return [:] }
        var out: [Int: String] = [0: ""]
        var queue = [0], head = 0
        while head < queue.count {
            let i = queue[head]
            head += 1
            let base = out[i] ?? ""
            for c in nodes[i].children where out[c.nodeID] == nil {
                out[c.nodeID] = base.isEmpty ? c.localName : "\(base)/\(c.localName)"
                queue.append(c.nodeID)
            }
        }
        return out
    }
}

extension TensorBundle {
    /// The object graph of an object-based checkpoint, nil for a name-based (TF1) one.
    /// - Throws: `TFCheckpointError.badEntry` / `.badObjectGraph` naming the index.
    public func objectGraph() throws -> ObjectGraph? {
        guard let e = entry(Self.objectGraphKey) else { return nil }
        let strings = try self.strings(e)
        guard strings.count == 1 else {
            throw TFCheckpointError.badObjectGraph(path: indexPath, detail: "\(strings.count) strings, expected a scalar")
        }
        return try ObjectGraph(strings[0], path: indexPath)
    }
}

import Foundation

/// Checks a document against the JSON Schemas in Schemas/ (draft 2020-12), for the keywords
/// those schemas use: type, const, enum, properties, required, additionalProperties (false),
/// items, minimum, maximum, $ref to "#/$defs/...". Any other keyword in a schema is an error,
/// so a schema can never ask for something this checker silently ignores.
struct JSONSchemaChecker {
    let root: JSONValue

    static let known: Set<String> = ["$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum",
                                     "properties", "required", "additionalProperties", "items", "minimum", "maximum"]

    init(schemaText: String) throws { root = try JSONValue.parse(schemaText) }

    /// Every violation, as "path: problem" lines (empty when the document conforms).
    func violations(of document: JSONValue) -> [String] {
        var out: [String] = []
        check(document, against: root, at: "$", into: &out)
        return out
    }

    private func resolve(_ schema: JSONValue) -> JSONValue? {
        guard let ref = schema["$ref"]?.stringValue else { return schema }
        guard ref.hasPrefix("#/$defs/") else { return nil }
        return root["$defs"]?[String(ref.dropFirst("#/$defs/".count))]
    }

    private func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case let .number(_, isInteger): return isInteger ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private func check(_ v: JSONValue, against rawSchema: JSONValue, at path: String, into out: inout [String]) {
        guard let schema = resolve(rawSchema), case let .object(keywords) = schema else {
            out.append("\(path): unresolvable schema \(rawSchema)")
            return
        }
        for (k, _) in keywords where !Self.known.contains(k) { out.append("\(path): schema keyword '\(k)' is not supported by the checker") }
        if let t = schema["type"] {
            let allowed = t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue ?? ""]
            let actual = typeName(v)
            // An integer is also a number.
            if !(allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))) {
                out.append("\(path): is \(actual), expected \(allowed.joined(separator: " or "))")
                return
            }
        }
        if let c = schema["const"], c != v { out.append("\(path): is \(v), expected the constant \(c)") }
        if let e = schema["enum"]?.arrayValue, !e.contains(v) { out.append("\(path): \(v) is not one of \(e)") }
        if let d = v.numberValue {
            if let m = schema["minimum"]?.numberValue, d < m { out.append("\(path): \(d) < minimum \(m)") }
            if let m = schema["maximum"]?.numberValue, d > m { out.append("\(path): \(d) > maximum \(m)") }
        }
        if case let .object(members) = v {
            let properties = schema["properties"]
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where v[name] == nil {
                out.append("\(path): required key '\(name)' is missing")
            }
            for (name, value) in members {
                if let sub = properties?[name] {
                    check(value, against: sub, at: "\(path).\(name)", into: &out)
                } else if schema["additionalProperties"] == .bool(false) {
                    out.append("\(path): key '\(name)' is not in the schema")
                }
            }
        }
        if case let .array(items) = v, let itemSchema = schema["items"] {
            for (i, item) in items.enumerated() { check(item, against: itemSchema, at: "\(path)[\(i)]", into: &out) }
        }
    }
}

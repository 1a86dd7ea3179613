import EffNet
import Foundation

/// The JSON the tools print with --json (docs/JSON.md, Schemas/*.schema.json): one document on
/// stdout, keys sorted, every documented key present (null when it does not apply).
public enum ToolJSON {
    /// Encodes `value` as the tools print it.
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            // Only a non-finite number could fail here, and finite(_:) maps those to null.
            return "{\"error\": \"could not encode the report\"}"
        }
    }

    /// JSON has no NaN or infinity: those become null.
    public static func finite(_ v: Float) -> Float? { v.isFinite ? v : nil }
}

import EffNet
import Foundation

/// `--names MAP.json`: a user's renaming of their checkpoint's tensor names onto one family's
/// names or onto the canonical roles, for weights saved from someone's own EfficientNet class
/// (other attribute names, a wrapper module, a renamed prefix). docs/CLI.md,
/// docs/names-example.json and docs/names-roles-example.json show the format:
///
///     {
///       "family":   "torchvision",                       optional: whose names the map gives,
///                                                        or "canonical" for the roles
///       "conventions": "timm-tf",                        with "canonical" only, optional: whose
///                                                        conventions the module follows
///       "prefixes": { "net.stem.": "features.0.",        a name starting with the key gets the
///                     "net.body.": "features." },          value instead (longest key wins)
///       "names":    { "head.fc.w": "classifier.1.weight" } whole names, before any prefix
///     }
///
/// Roles (`CanonicalRoles`) are the names an .effw stores ("stem.conv.weight",
/// "blocks.3.depthwise.bn.running_var", "classifier.weight"): the structure without a family's
/// spelling, so a map never has to know how torchvision numbers its stages.
///
/// Every renamed name must be unique. Names no entry matches keep their spelling. The report
/// lists what the map matched, the names it left as they were, and entries that matched nothing.
public struct NameMap: Sendable {
    public let path: String
    /// The family whose names the map produces, when it says (nil for roles).
    public var family: FamilyName?
    /// The map produces canonical roles ("family": "canonical").
    public var roles = false
    /// With roles: the family whose conventions the user's module follows, when the map says.
    public var conventions: FamilyName?
    /// (from, to), longest `from` first.
    public var prefixes: [(from: String, to: String)]
    public var names: [String: String]

    /// Bounds on what a map may declare: it is read whole before anything is renamed.
    public static let maxBytes = 4 << 20
    public static let maxEntries = 100_000
    public static let maxNameBytes = 1024

    /// Reads and checks `path`.
    /// - Throws: `FileError` when it cannot be read (or is no regular file), `NameMapError` when
    ///   it is too large or not of the documented form.
    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        guard file.count <= Self.maxBytes else { throw NameMapError.invalid(path: path, detail: "\(file.count) bytes, more than the \(Self.maxBytes) a names map may have") }
        let data = Data(file.bytes)
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw NameMapError.invalid(path: path, detail: "not a JSON object")
        }
        if let unknown = json.keys.sorted().first(where: { !["family", "conventions", "prefixes", "names", "comment"].contains($0) }) {
            throw NameMapError.invalid(path: path, detail: "unknown key '\(unknown.prefix(60))' (expected family, conventions, prefixes, names, comment)")
        }
        if let f = json["family"] {
            if let s = f as? String, s == "canonical" {
                roles = true
            } else {
                guard let s = f as? String, let name = FamilyName(rawValue: s), name != .onnxGraph else {
                    throw NameMapError.invalid(path: path, detail: "\"family\" must be canonical or one of \(FamilyName.allCases.filter { $0 != .onnxGraph }.map(\.rawValue).joined(separator: ", "))")
                }
                family = name
            }
        }
        if let c = json["conventions"] {
            guard roles else {
                throw NameMapError.invalid(path: path, detail: "\"conventions\" goes with \"family\": \"canonical\" (a family's own names bring its conventions)")
            }
            guard let s = c as? String, let name = FamilyName(rawValue: s), CanonicalRoles.families.contains(name) else {
                throw NameMapError.invalid(path: path, detail: "\"conventions\" must be one of \(CanonicalRoles.families.map(\.rawValue).joined(separator: ", "))")
            }
            conventions = name
        }
        func table(_ key: String) throws -> [String: String] {
            guard let v = json[key] else { return [:] }
            guard let d = v as? [String: Any] else { throw NameMapError.invalid(path: path, detail: "\"\(key)\" must be an object of strings") }
            guard d.count <= Self.maxEntries else { throw NameMapError.invalid(path: path, detail: "\"\(key)\" has \(d.count) entries; at most \(Self.maxEntries)") }
            var out: [String: String] = [:]
            for (k, v) in d {
                guard let s = v as? String else { throw NameMapError.invalid(path: path, detail: "\"\(key)\": the value of '\(k.prefix(80))' is not a string") }
                guard !k.isEmpty, !s.isEmpty || key == "prefixes", k.utf8.count <= Self.maxNameBytes, s.utf8.count <= Self.maxNameBytes else {
                    throw NameMapError.invalid(path: path, detail: "\"\(key)\": '\(k.prefix(80))' -> '\(s.prefix(80))': names must be 1 to \(Self.maxNameBytes) bytes")
                }
                out[k] = s
            }
            return out
        }
        names = try table("names")
        prefixes = try table("prefixes").map { ($0.key, $0.value) }.sorted { $0.from.utf8.count != $1.from.utf8.count ? $0.from.utf8.count > $1.from.utf8.count : $0.from < $1.from }
        guard !names.isEmpty || !prefixes.isEmpty else { throw NameMapError.invalid(path: path, detail: "no \"names\" and no \"prefixes\": the map renames nothing") }
    }

    /// What renaming did, for the report.
    public struct Outcome: Sendable {
        /// new name -> the file's name, for every tensor the map renamed.
        public var original: [String: String]
        /// Tensors no entry matched (kept as spelled).
        public var leftAsIs: [String]
        /// Entries that matched no tensor: "names: x", "prefixes: y.".
        public var unusedEntries: [String]

        /// The report's lines.
        public func notes(_ path: String) -> [String] {
            var lines = ["--names \((path as NSString).lastPathComponent): renamed \(original.count) tensors"
                         + (leftAsIs.isEmpty ? "" : ", left \(leftAsIs.count) as spelled (\(leftAsIs.prefix(5).joined(separator: ", "))\(leftAsIs.count > 5 ? ", ..." : ""))")]
            if !unusedEntries.isEmpty {
                lines.append("--names: entries that matched no tensor: \(unusedEntries.prefix(10).joined(separator: ", "))\(unusedEntries.count > 10 ? ", ... (\(unusedEntries.count))" : "")")
            }
            return lines
        }
    }

    /// The checkpoint under the map's names, and what was renamed.
    /// - Throws: `NameMapError.collision` when two tensors would get one name.
    public func apply(to checkpoint: SourceCheckpoint) throws -> (SourceCheckpoint, Outcome) {
        var usedNames = Set<String>(), usedPrefixes = Set<String>()
        var outcome = Outcome(original: [:], leftAsIs: [], unusedEntries: [])
        var seen: [String: String] = [:]
        var copy = checkpoint
        copy.tensors = try checkpoint.tensors.map { t in
            var new = t.name
            if let exact = names[t.name] {
                new = exact
                usedNames.insert(t.name)
            } else if let p = prefixes.first(where: { t.name.hasPrefix($0.from) }) {
                new = p.to + t.name.dropFirst(p.from.count)
                usedPrefixes.insert(p.from)
            } else {
                outcome.leftAsIs.append(t.name)
            }
            if let other = seen[new] {
                throw NameMapError.collision(path: path, name: new, sources: [other, t.name])
            }
            seen[new] = t.name
            if new != t.name { outcome.original[new] = t.name }
            return SourceTensor(name: new, raw: t.raw)
        }
        outcome.unusedEntries = names.keys.filter { !usedNames.contains($0) }.sorted().map { "names: \($0)" }
            + prefixes.map(\.from).filter { !usedPrefixes.contains($0) }.map { "prefixes: \($0)" }
        return (copy, outcome)
    }
}

/// A names map that cannot be used.
public enum NameMapError: Error, Equatable, CustomStringConvertible {
    /// The map is too large or not of the documented form.
    case invalid(path: String, detail: String)
    /// Two tensors would get the same name.
    case collision(path: String, name: String, sources: [String])

    public var description: String {
        switch self {
        case let .invalid(path, detail): return "\(path): not a usable names map: \(detail)"
        case let .collision(path, name, sources): return "\(path): the map gives two tensors the name '\(name)': \(sources.joined(separator: " and "))"
        }
    }
}

extension WeightMapping {
    /// The mapping with its source names put back to the file's spelling (`original`: mapped
    /// name -> file name), so that it applies to the checkpoint as read.
    func restoringSourceNames(_ original: [String: String], notes extra: [String]) -> WeightMapping {
        var m = self
        m.assignments = assignments.map { .init(canonical: $0.canonical, source: original[$0.source] ?? $0.source, transform: $0.transform) }
        m.skipped = skipped.map { (original[$0.source] ?? $0.source, $0.reason) }
        m.notes = extra + m.notes
        return m
    }
}

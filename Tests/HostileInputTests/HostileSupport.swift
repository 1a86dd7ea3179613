import EffNet
import Foundation
import XCTest

/// Paths of the committed hostile files (Fixtures/hostile, written by Fixtures/generate_hostile.py)
/// and of the other fixtures used as undamaged starting points.
enum HostileFixtures {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let hostile = fixtures.appendingPathComponent("hostile")

    static func path(_ relative: String) -> String { hostile.appendingPathComponent(relative).path }
    static func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }

    /// manifest.json: relative path -> what the file is and what must happen.
    nonisolated(unsafe) static let manifest: [String: [String: Any]] = {
        guard let data = FileManager.default.contents(atPath: path("manifest.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else { return [:] }
        return json
    }()

    static func files(kind: String) -> [String] {
        manifest.filter { ($0.value["kind"] as? String) == kind }.map(\.key).sorted()
    }
}

/// A private folder per test, removed afterwards.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = path(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func copy(_ source: String, as name: String) throws -> String {
        try write(try readFile(source), name)
    }

    /// Names in the folder (to find leftovers such as temporary .effw files).
    func contents() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path).sorted()) ?? [] }
}

func readFile(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Bytes and modification time: what "never modified" compares.
struct FileSnapshot: Equatable {
    var bytes: [UInt8]
    var modified: Date?
    init(_ path: String) throws {
        bytes = try readFile(path)
        modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}

/// A deterministic byte generator for "random" files (the same bytes on every run).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0 ..< n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

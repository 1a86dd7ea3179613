import Foundation
import EffNetTorch
import XCTest

/// Deeply nested pickles (a million opcodes): refused or read without recursion, never a stack
/// overflow, in the reader and through the tools (inside a zip and a legacy archive).
final class DeepPickleTests: HostileTestCase {
    static let depth = 1_000_000

    /// Payloads: a million MARKs; a million nested lists (EMPTY_LIST x n, APPEND x n-1);
    /// a million nested 1-tuples; a million nested dicts; a million MARK+LIST pairs.
    static var payloads: [(name: String, bytes: [UInt8])] {
        let n = depth
        let marks = [0x80, 0x02] + [UInt8](repeating: 0x28, count: n) + [0x2e]
        let lists = [0x80, 0x02] + [UInt8](repeating: 0x5d, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2e]
        let tuples = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: n) + [0x2e]
        var dicts: [UInt8] = [0x80, 0x02]
        for _ in 0 ..< n { dicts += [0x7d, 0x4b, 0x01] }           // EMPTY_DICT, key 1
        dicts += [0x4e]                                              // innermost value None
        dicts += [UInt8](repeating: 0x73, count: n) + [0x2e]         // SETITEM x n
        var markLists: [UInt8] = [0x80, 0x02]
        for _ in 0 ..< n { markLists += [0x28, 0x6c] }               // MARK, LIST: [] each time
        markLists += [0x2e]
        var nestedMarkLists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: n)
        nestedMarkLists += [UInt8](repeating: 0x6c, count: n) + [0x2e] // (((( .. )))) as lists
        return [("marks", marks), ("lists", lists), ("tuples", tuples), ("dicts", dicts),
                ("mark_list_pairs", markLists), ("nested_mark_lists", nestedMarkLists)]
    }

    func testReaderSurvivesDeepNesting() throws {
        for (name, bytes) in Self.payloads {
            let start = Date()
            let graph = PickleGraph()
            let result = bytes.withUnsafeBytes { b -> Result<PickleValue, Error> in
                var u = Unpickler(bytes: b, path: "\(name).pkl", graph: graph)
                return Result { try u.load() }
            }
            switch result {
            case let .success(v):
                // Accepted (flat enough for the limits): describing it must not recurse either.
                _ = graph.describe(v)
            case let .failure(error):
                XCTAssertTrue(error is PickleError, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains("\(name).pkl"), "\(name): \(error)")
            }
            // A debug build on a loaded machine: generous, but a recursion or quadratic walk
            // over a million values would still blow it.
            XCTAssertLessThan(Date().timeIntervalSince(start), 30, name)
        }
    }

    func testToolsSurviveDeepNestingInArchives() throws {
        for (name, bytes) in Self.payloads where ["marks", "lists", "dicts", "nested_mark_lists"].contains(name) {
            let zip = try scratch.write(ContainerBuilder.torchZip(dataPkl: bytes), "deep_\(name).pt")
            try assertRefused(zip, mentions: [], tools: [.convert])
            let legacy = try scratch.write(ContainerBuilder.legacy(objectPickle: bytes), "deep_\(name)_legacy.pt")
            try assertRefused(legacy, mentions: [], tools: [.inspect])
        }
    }
}

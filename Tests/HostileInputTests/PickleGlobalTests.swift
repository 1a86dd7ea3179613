import Foundation
import EffNetTorch
import XCTest

/// Pickles that would run code if Python unpickled them (Fixtures/generate_hostile.py checks
/// that each payload really creates its marker under torch.load(weights_only=False)): refused
/// with an error naming the global, and the marker never appears.
final class PickleGlobalTests: HostileTestCase {
    static let marker = "/tmp/effnetkit_hostile_pwned_"

    func removeMarkers() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [] where name.hasPrefix("effnetkit_hostile_pwned_") {
            try? FileManager.default.removeItem(atPath: "/tmp/" + name)
        }
    }

    func assertNoMarkers(file: StaticString = #filePath, line: UInt = #line) {
        usleep(200_000) // a Popen payload would not wait for its child
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("effnetkit_hostile_pwned_") }
        XCTAssertEqual(left, [], "a payload ran", file: file, line: line)
    }

    /// Torch zip and legacy archives carrying os.system, posix.system, subprocess.Popen,
    /// subprocess.check_output and builtins.eval beside a real state dict.
    func testPayloadArchivesThroughTheTools() throws {
        let files = HostileFixtures.files(kind: "payload")
        XCTAssertEqual(files.count, 10, "manifest lists the payload archives")
        removeMarkers()
        for rel in files {
            let info = HostileFixtures.manifest[rel] ?? [:]
            let global = try XCTUnwrap(info["global_"] as? String)
            let offsetWord = "offset"
            try assertRefused(HostileFixtures.path(rel), mentions: [global, offsetWord])
        }
        assertNoMarkers()
    }

    /// The same payloads through the reader's API: the error is the typed `disallowedGlobal`.
    func testPayloadArchivesThroughTheReader() throws {
        removeMarkers()
        for rel in HostileFixtures.files(kind: "payload") {
            let global = try XCTUnwrap(HostileFixtures.manifest[rel]?["global_"] as? String)
            XCTAssertThrowsError(try TorchCheckpoint(path: HostileFixtures.path(rel)), rel) { error in
                guard case let .disallowedGlobal(_, module, name, _)? = error as? PickleError else {
                    return XCTFail("\(rel): \(error)")
                }
                XCTAssertEqual("\(module).\(name)", global, rel)
            }
        }
        assertNoMarkers()
    }

    /// Bare pickles (no archive) reaching the same globals through every opcode that names a
    /// global: GLOBAL, STACK_GLOBAL, INST, and the Python 2 spellings.
    func testBarePicklesNameTheGlobal() throws {
        removeMarkers()
        let touch = "touch \(Self.marker)bare"
        var cases: [(String, [UInt8])] = []
        for (module, name) in [("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"),
                               ("subprocess", "check_output"), ("builtins", "eval"), ("builtins", "exec"),
                               ("builtins", "getattr"), ("builtins", "__import__"), ("builtins", "open"),
                               ("__builtin__", "eval"), ("commands", "getoutput"), ("shutil", "rmtree"),
                               ("pty", "spawn"), ("runpy", "_run_code"), ("pickle", "loads"), ("sys", "modules")] {
            let expected = "\(module == "__builtin__" ? "builtins" : module == "commands" ? "subprocess" : module).\(name)"
            // protocol 2: GLOBAL, the argument tuple, REDUCE
            cases.append((expected, [0x80, 0x02] + Array("c\(module)\n\(name)\n".utf8) + Pickle.string(touch) + [0x85, 0x52, 0x2e]))
            // protocol 4: STACK_GLOBAL from two strings
            cases.append((expected, [0x80, 0x04] + Pickle.string(module) + Pickle.string(name) + [0x93] + Pickle.string(touch) + [0x85, 0x52, 0x2e]))
            // protocol 0: INST module name, arguments since MARK
            cases.append((expected, [0x28] + Pickle.string(touch) + Array("i\(module)\n\(name)\n.".utf8)))
        }
        for (expected, pickle) in cases {
            let graph = PickleGraph()
            let result = pickle.withUnsafeBytes { b -> Result<PickleValue, Error> in
                var u = Unpickler(bytes: b, path: "bare.pkl", graph: graph)
                return Result { try u.load() }
            }
            guard case let .failure(error) = result else { XCTFail("\(expected): accepted"); continue }
            guard case let .disallowedGlobal(path, module, name, _)? = error as? PickleError else {
                XCTFail("\(expected): \(error)"); continue
            }
            XCTAssertEqual(path, "bare.pkl")
            XCTAssertEqual("\(module).\(name)", expected)
            XCTAssertTrue("\(error)".contains(expected), "\(error)")
        }
        assertNoMarkers()
    }

    /// A bare pickle file given to the tools is not a checkpoint: exit 2, nothing runs.
    func testBarePickleFileThroughTheTools() throws {
        removeMarkers()
        let p = try scratch.write([0x80, 0x02] + Array("cos\nsystem\n".utf8) + Pickle.string("touch \(Self.marker)file") + [0x85, 0x52, 0x2e], "payload.pkl")
        try assertRefused(p)
        assertNoMarkers()
    }
}

/// Pickle byte helpers.
enum Pickle {
    /// BINUNICODE of `s`.
    static func string(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [0x58] + le32(u.count) + u
    }

    static func le32(_ v: Int) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}

import EffNet
import EffNetTorch
import XCTest

/// The unpickler on hand-written byte literals: each malformed or hostile construct has its
/// own test and its own typed error.
final class UnpicklerTests: XCTestCase {
    func unpickle(_ bytes: [UInt8], limits: PickleLimits = .default) throws -> (PickleValue, PickleGraph) {
        let graph = PickleGraph()
        let v = try bytes.withUnsafeBytes { buf -> PickleValue in
            var u = Unpickler(bytes: buf, path: "test.pkl", graph: graph, limits: limits)
            return try u.load()
        }
        return (v, graph)
    }

    func expectError(_ bytes: [UInt8], limits: PickleLimits = .default, _ check: (PickleError) -> Bool,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try unpickle(bytes, limits: limits), file: file, line: line) { error in
            guard let e = error as? PickleError else { return XCTFail("not a PickleError: \(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "\(e)", file: file, line: line)
        }
    }

    static func global(_ module: String, _ name: String) -> [UInt8] {
        [0x63] + Array("\(module)\n\(name)\n".utf8)
    }

    func testScalarsAndContainers() throws {
        // pickle.dumps({'a': [1, -2, 3.5, 'x', b'y', None, True, 2**70]}, protocol=2)
        let p: [UInt8] = [0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01,
                          0x5d, 0x71, 0x02, 0x28, 0x4b, 0x01, 0x4a, 0xfe, 0xff, 0xff, 0xff,
                          0x47, 0x40, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x58, 0x01, 0x00, 0x00, 0x00, 0x78, 0x43, 0x01, 0x79, 0x4e, 0x88,
                          0x8a, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40,
                          0x65, 0x73, 0x2e]
        let (v, g) = try unpickle(p)
        let d = try XCTUnwrap(g.dict(v))
        guard case let .list(l)? = g.node(try XCTUnwrap(d.value(forKey: "a"))) else { return XCTFail() }
        XCTAssertEqual(l.items, [.int(1), .int(-2), .float(3.5), .string("x"), .bytes([0x79]), .none, .bool(true),
                                 .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40])])
    }

    func testProtocol0TextOpcodes() throws {
        // pickle.dumps({'k': [1, 2.5, 'x']}, protocol=0)
        let p = Array("(dp0\nVk\np1\n(lp2\nI1\naF2.5\naVx\np3\nas.".utf8)
        let (v, g) = try unpickle(p)
        let d = try XCTUnwrap(g.dict(v))
        guard case let .list(l)? = g.node(try XCTUnwrap(d.value(forKey: "k"))) else { return XCTFail() }
        XCTAssertEqual(l.items, [.int(1), .float(2.5), .string("x")])
    }

    func testDeniedGlobalsAreErrorsWhereverTheyAppear() {
        for (m, n) in [("os", "system"), ("posix", "system"), ("nt", "system"), ("sys", "exit"),
                       ("subprocess", "Popen"), ("builtins", "eval"), ("builtins", "exec"),
                       ("builtins", "getattr"), ("__builtin__", "eval"), ("builtins", "__import__"),
                       ("os.path", "join"), ("importlib", "import_module"), ("shutil", "rmtree")] {
            // (GLOBAL m n, ('x',)) REDUCE inside a list: refused at the GLOBAL.
            let p: [UInt8] = [0x80, 0x02, 0x5d] + Self.global(m, n) + [0x58, 1, 0, 0, 0, 0x78, 0x85, 0x52, 0x61, 0x2e]
            expectError(p) {
                guard case let .disallowedGlobal(path, module, name, offset) = $0 else { return false }
                let expectedModule = m == "__builtin__" ? "builtins" : m
                return path == "test.pkl" && module == expectedModule && name == n && offset == 3
            }
        }
        // STACK_GLOBAL and INST reach the same check.
        let stack: [UInt8] = [0x80, 0x04, 0x8c, 0x02] + Array("os".utf8) + [0x8c, 0x06] + Array("system".utf8) + [0x93, 0x2e]
        expectError(stack) { if case .disallowedGlobal(_, "os", "system", _) = $0 { return true } else { return false } }
        let inst: [UInt8] = [0x28] + [0x69] + Array("subprocess\ncall\n".utf8) + [0x2e]
        expectError(inst) { if case .disallowedGlobal(_, "subprocess", "call", _) = $0 { return true } else { return false } }
    }

    func testUnknownGlobalsBecomeOpaqueObjects() throws {
        // argparse.Namespace() with BUILD state {'lr': 0.1}
        let p: [UInt8] = [0x80, 0x02] + Self.global("argparse", "Namespace") + [0x29, 0x81, 0x7d,
                          0x58, 2, 0, 0, 0] + Array("lr".utf8) + [0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
                          0x73, 0x62, 0x2e]
        let (v, g) = try unpickle(p)
        guard case let .object(o)? = g.node(v) else { return XCTFail("\(g.describe(v))") }
        XCTAssertEqual(o.global.qualifiedName, "argparse.Namespace")
        XCTAssertEqual(o.stateKeys, ["lr"])
        XCTAssertFalse(o.looksLikeModule)
    }

    func testDeepMarksAreBounded() {
        expectError([0x80, 0x02] + [UInt8](repeating: 0x28, count: 100_000) + [0x2e]) {
            if case .limitExceeded(_, _, "open MARKs", _) = $0 { return true } else { return false }
        }
    }

    /// 100k nested lists built with EMPTY_LIST ... APPEND: refused at the depth limit, and
    /// nothing recursive runs (values never nest), so no stack overflow either way.
    func testDeepNestingIsBounded() {
        let n = 100_000
        let p: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5d, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2e]
        expectError(p) { if case .limitExceeded(_, _, "nesting depth", 1000) = $0 { return true } else { return false } }
        // Nested tuples: '(' ... TUPLE1 chains.
        let t: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: n) + [0x2e]
        expectError(t) { if case .limitExceeded(_, _, "nesting depth", _) = $0 { return true } else { return false } }
    }

    func testDeepButAllowedNestingAndCyclesDoNotRecurse() throws {
        var limits = PickleLimits()
        limits.maxDepth = 50_000
        let n = 40_000
        let p: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5d, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2e]
        let (v, g) = try unpickle(p, limits: limits)
        XCTAssertEqual(g.describe(v), "list (1 items)")
        // A list that contains itself.
        let cycle: [UInt8] = [0x80, 0x02, 0x5d, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2e]
        let (c, cg) = try unpickle(cycle)
        guard case let .list(l)? = cg.node(c) else { return XCTFail() }
        XCTAssertEqual(l.items, [c])
    }

    func testHugeDeclaredLengthsAreTruncationErrors() {
        let cases: [[UInt8]] = [
            [0x80, 0x02, 0x58, 0xf0, 0xff, 0xff, 0xff, 0x61], // BINUNICODE 4 GB
            [0x80, 0x04, 0x8d] + [UInt8](repeating: 0xff, count: 8), // BINUNICODE8 2^64-1
            [0x80, 0x04, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80], // BINBYTES8 2^63
            [0x80, 0x02, 0x8b, 0xff, 0xff, 0xff, 0x7f], // LONG4 2 GB
            [0x80, 0x05, 0x96, 0, 0, 0, 0, 0, 0, 0x10, 0], // BYTEARRAY8
            [0x80, 0x04, 0x95, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], // FRAME
        ]
        for p in cases {
            expectError(p) { if case .truncated = $0 { return true } else { return false } }
        }
        // BINSTRING with a negative length
        expectError([0x80, 0x02, 0x54, 0xff, 0xff, 0xff, 0xff]) {
            if case .invalidOperation(_, 2, "BINSTRING", _) = $0 { return true } else { return false }
        }
    }

    func testStackAndMemoErrors() {
        expectError([0x80, 0x02, 0x61]) { if case .stackUnderflow(_, 2, "APPEND") = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x2e]) { if case .stackUnderflow(_, _, "STOP") = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x68, 0x07, 0x2e]) { if case .memoMissing(_, 2, 7) = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x4e, 0x65, 0x2e]) { if case .stackUnderflow(_, _, "APPENDS") = $0 { return true } else { return false } }
        var limits = PickleLimits()
        limits.maxStack = 100
        expectError([0x80, 0x02, 0x4e] + [UInt8](repeating: 0x32, count: 200) + [0x2e], limits: limits) {
            if case .limitExceeded(_, _, "stack size", 100) = $0 { return true } else { return false }
        }
        // A MARK hides what is below it: POP cannot reach through it.
        expectError([0x80, 0x02, 0x4e, 0x28, 0x30, 0x2e]) { if case .stackUnderflow = $0 { return true } else { return false } }
    }

    func testProtocolAndOpcodeErrors() {
        expectError([0x80, 0x06, 0x4e, 0x2e]) { if case .unsupportedProtocol(_, 0, 6) = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0xff]) { if case .unknownOpcode(_, 2, 0xff) = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x82, 0x01]) { if case .unsupportedOpcode(_, _, "EXT1", _) = $0 { return true } else { return false } }
        expectError([0x80, 0x05, 0x97]) { if case .unsupportedOpcode(_, _, "NEXT_BUFFER", _) = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x4e]) { if case .truncated = $0 { return true } else { return false } } // no STOP
        // APPEND to a dict, SETITEM on a list.
        expectError([0x80, 0x02, 0x7d, 0x4e, 0x61, 0x2e]) { if case .invalidOperation(_, _, "APPEND", _) = $0 { return true } else { return false } }
        expectError([0x80, 0x02, 0x5d, 0x4e, 0x4e, 0x73, 0x2e]) { if case .invalidOperation(_, _, "SETITEM", _) = $0 { return true } else { return false } }
    }

    /// Calling an allowlisted function with wrong arguments is an error naming it.
    func testAllowlistedCallsCheckTheirArguments() {
        // torch._utils._rebuild_tensor_v2(None, 0, (), (), False, None)
        let p: [UInt8] = [0x80, 0x02] + Self.global("torch._utils", "_rebuild_tensor_v2")
            + [0x28, 0x4e, 0x4b, 0x00, 0x29, 0x29, 0x89, 0x4e, 0x74, 0x52, 0x2e]
        expectError(p) {
            guard case let .invalidCall(_, _, function, detail) = $0 else { return false }
            return function == "torch._utils._rebuild_tensor_v2" && detail.contains("storage")
        }
        // _codecs.encode('\u{100}', 'latin1')
        let enc: [UInt8] = [0x80, 0x02] + Self.global("_codecs", "encode")
            + [0x58, 2, 0, 0, 0, 0xc4, 0x80, 0x58, 6, 0, 0, 0] + Array("latin1".utf8) + [0x86, 0x52, 0x2e]
        expectError(enc) { if case .invalidCall(_, _, "_codecs.encode", _) = $0 { return true } else { return false } }
    }

    func testCodecsEncodeGivesBytes() throws {
        // _codecs.encode('\u{e9}a', 'latin1'): how protocol 2 pickles b'\xe9a'.
        let p: [UInt8] = [0x80, 0x02] + Self.global("_codecs", "encode")
            + [0x58, 3, 0, 0, 0, 0xc3, 0xa9, 0x61, 0x58, 6, 0, 0, 0] + Array("latin1".utf8) + [0x86, 0x52, 0x2e]
        let (v, _) = try unpickle(p)
        XCTAssertEqual(v, .bytes([0xe9, 0x61]))
    }
}

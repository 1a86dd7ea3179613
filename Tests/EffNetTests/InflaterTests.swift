import Foundation
import XCTest

/// The test support's gzip/DEFLATE decoder (Gunzip, Inflater) against streams Python's gzip and
/// zlib wrote (Fixtures/core/zlib, generate_zlib_oracles.py): stored, fixed and dynamic Huffman
/// blocks, header fields, and damaged or oversized input refused with an error, never a trap.
final class InflaterTests: XCTestCase {
    static let folder = ForwardPassFixtures.directory.appendingPathComponent("zlib")

    private func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
    }

    /// gzip_cases.json: each .gz and the bytes it holds.
    private func cases() throws -> [(name: String, gz: [UInt8], expected: [UInt8])] {
        struct Case: Decodable { var file: String?; var text: String? }
        struct File: Decodable { var cases: [String: Case] }
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: Self.folder.appendingPathComponent("gzip_cases.json")))
        return try file.cases.keys.sorted().map { name in
            let c = file.cases[name]!
            let expected = try c.file.map(bytes) ?? Array((c.text ?? "").utf8)
            return (name, try bytes(name), expected)
        }
    }

    func testEveryPythonStreamInflatesExactly() throws {
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 12)
        for c in all {
            XCTAssertEqual(try Gunzip.decompress(c.gz, name: c.name, maxOutput: c.expected.count), c.expected, c.name)
        }
    }

    /// The fixtures hold the block types they are meant to (header: 10 bytes, no optional fields).
    func testFixturesCoverEveryBlockType() throws {
        func types(_ name: String) throws -> [Int] {
            var inflater = Inflater(try bytes(name), from: 10, maxOutput: 1 << 20)
            _ = try inflater.run()
            return inflater.blockTypes
        }
        XCTAssertEqual(try types("payload.level0.gz"), [0])
        XCTAssertEqual(try types("payload.stored.gz"), [0, 0, 0, 0, 0, 0, 0])  // three with data, four empty flushes
        XCTAssertEqual(Set(try types("payload.fixed.gz")), [1])
        XCTAssertEqual(Set(try types("payload.level9.gz")), [2])
        XCTAssertEqual(Set(try types("payload.huffman.gz")), [2])
        // Dynamic blocks between the flushes' empty stored blocks (the final one may be fixed).
        XCTAssertTrue(Set(try types("payload.flushed.gz")).isSuperset(of: [0, 2]))
        XCTAssertEqual(try types("empty.gz"), [1])
    }

    func testOutputIsBounded() throws {
        let gz = try bytes("payload.level9.gz"), size = try bytes("payload.bin").count
        XCTAssertThrowsError(try Gunzip.decompress(gz, name: "level9", maxOutput: size - 1)) { error in
            XCTAssertTrue("\(error)".contains("exceeds the expected \(size - 1) bytes"), "\(error)")
        }
        let stored = try bytes("payload.level0.gz")
        XCTAssertThrowsError(try Gunzip.decompress(stored, name: "level0", maxOutput: 1000))
    }

    func testDamagedHeaderAndTrailerAreRefused() throws {
        let gz = try bytes("payload.level6.gz"), size = try bytes("payload.bin").count
        func refused(_ change: (inout [UInt8]) -> Void, _ message: String, line: UInt = #line) {
            var copy = gz
            change(&copy)
            XCTAssertThrowsError(try Gunzip.decompress(copy, name: "x.gz", maxOutput: size), line: line) { error in
                XCTAssertTrue("\(error)".hasPrefix("x.gz: "), "\(error)", line: line)
                XCTAssertTrue("\(error)".contains(message), "\(error)", line: line)
            }
        }
        refused({ $0[0] = 0x1E }, "not gzip")
        refused({ $0[2] = 7 }, "compression method 7")
        refused({ $0[3] = 0x20 }, "reserved flag")
        refused({ $0[$0.count - 8] ^= 1 }, "CRC-32")
        refused({ $0[$0.count - 1] ^= 1 }, "ISIZE")
        refused({ $0.append(0) }, "1 bytes after the gzip member")
        refused({ $0.removeLast(3) }, "trailer is truncated")
        refused({ $0.removeLast($0.count - 200) }, "deflate data is truncated")
        refused({ $0[10] |= 0b110 }, "invalid block type 3")
        refused({ $0 = Array($0[..<10]) }, "too short")

        var extras = try bytes("extras.gz")
        XCTAssertEqual(try Gunzip.decompress(extras, name: "extras", maxOutput: 100), Array("hello, extras\n".utf8))
        // FHCRC follows the 10 fixed bytes, XLEN + 9 extra bytes, "extras.txt\0" and "a comment\0".
        XCTAssertEqual(Array(extras[32 ..< 42]), Array("a comment\0".utf8))
        extras[42] ^= 1
        XCTAssertThrowsError(try Gunzip.decompress(extras, name: "extras", maxOutput: 100)) { error in
            XCTAssertTrue("\(error)".contains("gzip header CRC"), "\(error)")
        }

        var stored = try bytes("payload.level0.gz")
        stored[14] ^= 1  // NLEN of the first stored block (LEN at 11-12, NLEN at 13-14)
        XCTAssertThrowsError(try Gunzip.decompress(stored, name: "s", maxOutput: size)) { error in
            XCTAssertTrue("\(error)".contains("does not match its complement"), "\(error)")
        }
    }

    /// Random damage inside the compressed data: every result is an error or, when all the
    /// checks pass, the original bytes; never a trap or a hang. Every truncation is refused.
    func testDamagedDataNeverTraps() throws {
        let expected = try bytes("payload.bin")
        for name in ["payload.level6.gz", "payload.fixed.gz", "payload.flushed.gz", "payload.rle.gz"] {
            let gz = try bytes(name)
            var rng = SplitMix(seed: 17)
            var refused = 0
            let trials = 300
            for _ in 0 ..< trials {
                var copy = gz
                // The deflate data only, without its last byte (whose padding bits nobody reads).
                let at = 10 + Int(rng.next() % UInt64(gz.count - 19))
                copy[at] ^= UInt8(1 << (rng.next() % 8))
                if let out = try? Gunzip.decompress(copy, name: name, maxOutput: expected.count) {
                    XCTAssertEqual(out, expected, "\(name): byte \(at) damaged, inflated to other bytes")
                } else {
                    refused += 1
                }
            }
            XCTAssertGreaterThan(refused, trials * 9 / 10, name)
            for cut in stride(from: 1, to: gz.count, by: 97) {
                XCTAssertThrowsError(try Gunzip.decompress(Array(gz[..<cut]), name: name, maxOutput: expected.count), "\(name) cut at \(cut)")
            }
        }
    }

    /// Hand-written fixed-Huffman streams: an overlapping copy (distance 1, length 10 repeats
    /// one literal), and a copy from before the start.
    func testOverlappingCopyAndDistanceBeforeStart() throws {
        var w = BitWriter()
        w.bits(1, 1); w.bits(1, 2)  // BFINAL, BTYPE 01 (fixed)
        w.code(0x30 + 0x61, 8)  // literal 'a' (0-143: 8-bit codes from 0x30)
        w.code(264 - 256, 7)  // length 10 (symbols 256-279: 7-bit codes from 0)
        w.code(0, 5)  // distance 1
        w.code(0, 7)  // end of block
        var inflater = Inflater(w.bytes, from: 0, maxOutput: 100)
        XCTAssertEqual(try inflater.run(), w.bytes.count)
        XCTAssertEqual(inflater.output, Array(repeating: UInt8(ascii: "a"), count: 11))

        var bad = BitWriter()
        bad.bits(1, 1); bad.bits(1, 2)
        bad.code(264 - 256, 7)
        bad.code(0, 5)
        var refused = Inflater(bad.bytes, from: 0, maxOutput: 100)
        XCTAssertThrowsError(try refused.run()) { error in
            XCTAssertTrue("\(error)".contains("reaches before the start"), "\(error)")
        }
    }
}

/// Writes DEFLATE bits: plain values least significant bit first, Huffman codes most
/// significant bit first (RFC 1951 section 3.1.1).
private struct BitWriter {
    var bytes: [UInt8] = []
    private var used = 8

    mutating func bits(_ value: Int, _ n: Int) {
        for i in 0 ..< n { bit((value >> i) & 1) }
    }

    mutating func code(_ value: Int, _ n: Int) {
        for i in (0 ..< n).reversed() { bit((value >> i) & 1) }
    }

    private mutating func bit(_ b: Int) {
        if used == 8 { bytes.append(0); used = 0 }
        bytes[bytes.count - 1] |= UInt8(b) << UInt8(used)
        used += 1
    }
}

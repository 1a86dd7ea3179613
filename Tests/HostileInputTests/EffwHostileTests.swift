import EffNet
import Foundation
import XCTest

/// .effw files with overlapping, out-of-range or lying offsets and headers, and bit flips that
/// the per-tensor CRC-32 catches, through effnet-inspect and effnet-convert (which accepts .effw
/// as a source).
final class EffwHostileTests: HostileTestCase {
    /// The tiny model's file split into header JSON and data buffer.
    struct Parts {
        var header: [String: Any]
        var data: [UInt8]
        var dataStart: Int

        init(_ bytes: [UInt8]) throws {
            let n = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            header = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes[8 ..< 8 + n])) as? [String: Any])
            data = Array(bytes[(8 + n)...])
            dataStart = 8 + n
        }

        /// Tensor names in data order.
        var names: [String] {
            header.keys.filter { $0 != "__metadata__" }.sorted { offsets($0)[0] < offsets($1)[0] }
        }

        func offsets(_ name: String) -> [Int] { ((header[name] as? [String: Any])?["data_offsets"] as? [Int]) ?? [0, 0] }

        mutating func set(_ name: String, _ key: String, _ value: Any) {
            var t = header[name] as? [String: Any] ?? [:]
            t[key] = value
            header[name] = t
        }

        func file(headerText: String? = nil) throws -> [UInt8] {
            let text = try headerText.map { Array($0.utf8) } ?? [UInt8](JSONSerialization.data(withJSONObject: header))
            return Pickle.le64(UInt64(text.count)) + text + data
        }
    }

    func original() throws -> [UInt8] { try TinyModel.writeEffw(to: scratch.path("tiny.effw")) }

    func check(_ bytes: [UInt8], _ name: String, mentions: [String]) throws {
        let p = try scratch.write(bytes, name + ".effw")
        try assertRefused(p, mentions: mentions)
    }

    func testLyingOffsets() throws {
        let base = try Parts(try original())
        let names = base.names
        let first = names[0], second = names[1], last = names[names.count - 1]
        let a = base.offsets(first), b = base.offsets(second), z = base.offsets(last)

        var overlap = base                         // the second tensor starts inside the first
        overlap.set(second, "data_offsets", [a[1] - 4, b[1] - 4])
        try check(try overlap.file(), "overlap", mentions: [])

        var beyond = base                          // the last tensor ends past the buffer
        beyond.set(last, "data_offsets", [z[0] + 8, z[1] + 8])
        try check(try beyond.file(), "beyond", mentions: [last])

        var reversed = base                        // begin after end
        reversed.set(first, "data_offsets", [a[1], a[0]])
        try check(try reversed.file(), "reversed", mentions: [first])

        for (label, value) in [("negative", [-8, a[1]]), ("huge", [Int.max - 4, Int.max]), ("float", [0.5, 1e30])] as [(String, [Any])] {
            var p = base
            p.set(first, "data_offsets", value)
            try check(try p.file(), "offsets_\(label)", mentions: [first])
        }

        var shape = base                           // shape needs more bytes than its range
        shape.set(first, "shape", [1 << 40, 1 << 40])
        try check(try shape.file(), "shape_overflow", mentions: [first])

        var dtype = base
        dtype.set(first, "dtype", "F128")
        try check(try dtype.file(), "dtype", mentions: [first])

        var gap = base                             // a tensor removed: a hole in the buffer
        gap.header.removeValue(forKey: second)
        try check(try gap.file(), "gap", mentions: [])
    }

    func testLyingHeaderLengths() throws {
        let bytes = try original()
        let body = Array(bytes.dropFirst(8))
        // (Too large to be a safetensors header, these are not even recognised as .effw.)
        try check(Pickle.le64(1 << 63) + body, "len_2_63", mentions: [])
        try check(Pickle.le64(UInt64(bytes.count)) + body, "len_past_end", mentions: [])
        try check(Pickle.le64(2) + body, "len_short", mentions: [])
        // A header nested 100000 levels deep.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let text = Array("{\"a\":\(deep)}".utf8)
        try check(Pickle.le64(UInt64(text.count)) + text, "deep_json", mentions: [])
    }

    /// Single-bit flips in the data buffer: the CRC-32 of the tensor holding the byte differs,
    /// and the error names that tensor.
    func testBitFlipsAreCaughtByCRC() throws {
        let bytes = try original()
        let parts = try Parts(bytes)
        for (i, name) in parts.names.enumerated() where i % max(1, parts.names.count / 6) == 0 {
            let r = parts.offsets(name)
            guard r[1] > r[0] else { continue }
            for (k, at) in [r[0], (r[0] + r[1]) / 2, r[1] - 1].enumerated() {
                var b = bytes
                b[parts.dataStart + at] ^= UInt8(1 << (k * 3 % 8))
                try check(b, "flip_\(i)_\(k)", mentions: [name, "CRC"])
            }
        }
    }

    /// Flips in the header: whatever they turn the header into, the file is refused or read
    /// consistently; never a crash (a flip every 211 bytes, inspect only).
    func testHeaderFlipsNeverCrash() throws {
        let bytes = try original()
        let parts = try Parts(bytes)
        for at in stride(from: 0, to: parts.dataStart, by: 211) {
            var b = bytes
            b[at] ^= 0x20
            let p = try scratch.write(b, "hflip_\(at).effw")
            let r = try HostileRunner.run("effnet-inspect", [p])
            XCTAssertNil(r.signal, "flip at \(at): \(r.stderr)")
            XCTAssertTrue(r.status == 0 || r.status == 2, "flip at \(at): status \(r.status)")
            if r.status == 2 { XCTAssertTrue(r.firstErrorLine.hasPrefix("error: ") && r.firstErrorLine.contains(p), r.stderr) }
        }
    }
}

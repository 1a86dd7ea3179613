import EffNet
import Foundation
import EffNetTorch
import XCTest

/// The fixtures Fixtures/generate_torch_archives.py wrote with real torch.save, and torch.load's
/// own account of them (expected.json).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch_archives")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    struct ExpectedTensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var strides: [Int]
        var offset: Int
        var values: [NSNumber]
    }

    struct Expected {
        var tensors: [ExpectedTensor]
        var skipped: [String]
        var wrapper: String?
        var prefix: String?
        var siblings: [String]?
        var raw: [String: Any]
    }

    nonisolated(unsafe) static let json: [String: Any] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("expected.json")),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return obj
    }()

    static func expected(_ key: String) throws -> Expected {
        let e = try XCTUnwrap(json[key] as? [String: Any], "expected.json has no \(key)")
        let tensors = (e["tensors"] as? [[String: Any]] ?? []).map { t in
            ExpectedTensor(name: t["name"] as? String ?? "", dtype: t["dtype"] as? String ?? "",
                           shape: t["shape"] as? [Int] ?? [], strides: t["strides"] as? [Int] ?? [],
                           offset: t["offset"] as? Int ?? 0, values: t["values"] as? [NSNumber] ?? [])
        }
        return Expected(tensors: tensors, skipped: e["skipped"] as? [String] ?? [], wrapper: e["wrapper"] as? String,
                        prefix: e["prefix"] as? String, siblings: e["siblings"] as? [String], raw: e)
    }

    /// Compares a checkpoint's state dict with torch's: names in order, dtypes, shapes, strides,
    /// exact values (every value is exactly representable in the tensor's own dtype, so the
    /// comparison is exact, no tolerance).
    static func check(_ ckpt: TorchCheckpoint, against e: Expected, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ckpt.tensors.map(\.name), e.tensors.map(\.name), file: file, line: line)
        XCTAssertEqual(ckpt.skipped.map(\.name), e.skipped, file: file, line: line)
        XCTAssertEqual(ckpt.wrapperPath.first, e.wrapper, file: file, line: line)
        XCTAssertEqual(ckpt.strippedPrefix, e.prefix, file: file, line: line)
        if let s = e.siblings { XCTAssertEqual(ckpt.siblingKeys, s, file: file, line: line) }
        for (t, x) in zip(ckpt.tensors, e.tensors) {
            XCTAssertEqual(t.raw.dtype.torchName, x.dtype, t.name, file: file, line: line)
            XCTAssertEqual(t.raw.shape, x.shape, t.name, file: file, line: line)
            if t.raw.count > 1 { XCTAssertEqual(t.raw.strides, x.strides, t.name, file: file, line: line) }
            if t.raw.dtype == .i64 {
                XCTAssertEqual(t.raw.int64s(), x.values.map(\.int64Value), t.name, file: file, line: line)
            } else {
                XCTAssertEqual(t.raw.floats(), x.values.map { Float($0.doubleValue) }, t.name, file: file, line: line)
            }
        }
    }
}

import EffNet
import Foundation
import XCTest

/// The .effw container: round trips, alignment, and refusal of damaged or inconsistent files.
final class EffwFormatTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func writeTiny(_ name: String = "tiny.effw", dtype: DType = .f32) throws -> (EfficientNet, URL) {
        let model = try TestSupport.randomModel()
        model.provenance = Provenance(sourceFile: "random", sourceFormat: "test", family: "none")
        let url = dir.appendingPathComponent(name)
        try model.write(to: url, dtype: dtype)
        return (model, url)
    }

    func testRoundTripIsExactAndKeepsConfigAndProvenance() throws {
        let (model, url) = try writeTiny()
        let loaded = try EfficientNet(contentsOf: url)
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertEqual(loaded.parameters, model.parameters)
        XCTAssertEqual(loaded.provenance?.sourceFile, "random")
        let x = TestSupport.randomInput([2, 3, 40, 48])
        XCTAssertEqual(try loaded(x), try model(x))
    }

    func testDataBufferIs64ByteAlignedAndTensorsAreContiguous() throws {
        let (_, url) = try writeTiny()
        let file = try EffwFile(path: url.path)
        XCTAssertEqual(file.dataStart % 64, 0)
        var cursor = 0
        for e in file.entries {
            XCTAssertEqual(e.dataRange.lowerBound, cursor)
            cursor = e.dataRange.upperBound
        }
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        XCTAssertEqual(file.dataStart + cursor, size)
    }

    func testHalfPrecisionStorageIsWidenedOnLoad() throws {
        let (model, url16) = try writeTiny("h.effw", dtype: .f16)
        let (_, urlBF) = try writeTiny("b.effw", dtype: .bf16)
        let f16 = try EfficientNet(contentsOf: url16)
        let bf16 = try EfficientNet(contentsOf: urlBF)
        XCTAssertEqual(try EffwFile(path: url16.path).entries.first?.dtype, .f16)
        for (name, t) in model.parameters {
            let a = f16.parameters[name]!, b = bf16.parameters[name]!
            for i in 0 ..< t.count {
                XCTAssertEqual(a.scalars[i], t.scalars[i], accuracy: abs(t.scalars[i]) * 1e-3 + 1e-7, name)
                XCTAssertEqual(b.scalars[i], t.scalars[i], accuracy: abs(t.scalars[i]) * 8e-3 + 1e-30, name)
            }
        }
    }

    func testRefusesToOverwriteWithoutPermission() throws {
        let (model, url) = try writeTiny()
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try model.write(to: url)) { error in
            XCTAssertEqual(error as? FileError, .exists(path: url.path))
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        try model.write(to: url, overwrite: true)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".effnet-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    // MARK: damaged files

    func expectRefusal(_ bytes: [UInt8], contains fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = dir.appendingPathComponent("bad-\(UUID().uuidString).effw")
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try EfficientNet(contentsOf: url), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(url.path), "error does not name the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
        }
    }

    func testTruncatedFilesAreRefused() throws {
        let (_, url) = try writeTiny()
        let bytes = [UInt8](try Data(contentsOf: url))
        try expectRefusal([], contains: "shorter than the 8-byte header length")
        try expectRefusal(Array(bytes.prefix(5)), contains: "shorter than the 8-byte header length")
        try expectRefusal(Array(bytes.prefix(100)), contains: "does not fit")
        try expectRefusal(Array(bytes.dropLast(1)), contains: "data_offsets")
        try expectRefusal(Array(bytes.dropLast(4096)), contains: "outside the")
    }

    func testBitFlipInTensorDataIsCaughtByCRC32() throws {
        let (_, url) = try writeTiny()
        var bytes = [UInt8](try Data(contentsOf: url))
        let file = try EffwFile(path: url.path)
        let victim = file.entries[file.entries.count / 2]
        bytes[file.dataStart + victim.dataRange.lowerBound + 1] ^= 0x10
        try expectRefusal(bytes, contains: "tensor '\(victim.name)': CRC32")
    }

    func testInconsistentHeadersAreRefused() throws {
        func file(_ header: String, data: [UInt8]) -> [UInt8] {
            let h = Array(header.utf8)
            return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
        }
        let meta = "\"__metadata__\":{\"effw.version\":\"1\"}"
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data: .init(repeating: 0, count: 12)),
                          contains: "overlap")
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data: .init(repeating: 0, count: 12)),
                          contains: "gap")
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: .init(repeating: 0, count: 8)),
                          contains: "needs 12 bytes")
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: .init(repeating: 0, count: 8)),
                          contains: "unknown dtype")
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", data: .init(repeating: 0, count: 8)),
                          contains: "overflows")
        try expectRefusal(file("{\(meta),\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: .init(repeating: 0, count: 8)),
                          contains: "no effw.crc32")
        try expectRefusal(file(String(repeating: "[", count: 5000), data: []), contains: "header does not start with '{'")
        try expectRefusal(file("{" + String(repeating: "\"a\":{", count: 5000), data: []), contains: "nests deeper")
        try expectRefusal(withUnsafeBytes(of: UInt64(1) << 40, Array.init) + [0x7b, 0x7d], contains: "exceeds")
    }

    func testTensorsThatDoNotFitTheStoredConfigAreAllReported() throws {
        let (model, url) = try writeTiny()
        // Rewrite with the classifier dropped and a stem weight of the wrong shape.
        var items: [EffwWriter.Item] = []
        for (name, shape) in model.parameterShapes where name != "classifier.bias" {
            let t = model.parameters[name]!
            let s = name == "stem.conv.weight" ? [shape[0], shape[1], 1, 9] : shape
            items.append(.init(name: name, dtype: .f32, shape: s, bytes: EffwWriter.encode(t.scalars, as: .f32)))
        }
        items.append(.init(name: "extra.weight", dtype: .f32, shape: [1], bytes: EffwWriter.encode([1], as: .f32)))
        let bad = dir.appendingPathComponent("mismatch.effw")
        try EffwWriter.write(items: items, metadata: try model.effwMetadata(), to: bad.path)
        XCTAssertThrowsError(try EfficientNet(contentsOf: bad)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing: classifier.bias"), text)
            XCTAssertTrue(text.contains("unused: extra.weight"), text)
            XCTAssertTrue(text.contains("shape mismatch: stem.conv.weight: expected [8, 3, 3, 3], got [8, 3, 1, 9]"), text)
        }
        _ = url
    }

    /// A float32 .effw is loaded without copying: the plan comes straight from the map (on all
    /// cores) and must give the floats of a plan built from the arrays; `weights` turn into
    /// arrays on demand, and replacing them afterwards rebuilds the plan.
    func testMappedLoadGivesTheArraysPlanAndRebuildsAfterReplacement() throws {
        let (model, url) = try writeTiny()
        let loaded = try EfficientNet(contentsOf: url)
        let x = TestSupport.randomInput([2, 3, 36, 44])
        let fromMap = try loaded(x)
        XCTAssertEqual(fromMap, try model(x))
        XCTAssertEqual(loaded.parameters, model.parameters)  // copied from the map now
        XCTAssertEqual(try loaded(x), fromMap)
        let other = try TestSupport.randomModel(seed: 77)
        try loaded.load(other.parameters)
        XCTAssertEqual(try loaded(x), try other(x))
    }

    func testNonFiniteWeightsInAnEffwFileAreRefusedUnlessAllowed() throws {
        let model = try TestSupport.randomModel()
        var params = model.parameters
        params["blocks.1.project.conv.weight"]!.scalars[3] = -.infinity
        params["head.bn.bias"]!.scalars[0] = .nan
        try model.load(params, allowNonFinite: true)
        let url = dir.appendingPathComponent("nan.effw")
        try model.write(to: url)
        XCTAssertThrowsError(try EfficientNet(contentsOf: url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("non-finite") || text.contains("NaN"), text)
            XCTAssertTrue(text.contains("blocks.1.project.conv.weight") && text.contains("head.bn.bias"), text)
        }
        let loaded = try EfficientNet(contentsOf: url, allowNonFinite: true)
        XCTAssertTrue(loaded.parameters["head.bn.bias"]!.scalars[0].isNaN)
    }

    func testNonFiniteWeightsAreRefusedUnlessAllowed() throws {
        let model = try TestSupport.randomModel()
        var params = model.parameters
        params["head.bn.bias"]!.scalars[0] = .nan
        XCTAssertThrowsError(try model.load(params)) { error in
            XCTAssertEqual((error as? WeightCheckError)?.nonFinite, ["head.bn.bias"])
        }
        XCTAssertNoThrow(try model.load(params, allowNonFinite: true))
    }
}

extension EffwFormatTests {
    /// The config-only enumeration of names and shapes agrees with the module tree's own
    /// parameters, in order, for every kind of config (folded BN, no SE, no expansion).
    func testParameterEnumerationMatchesTheModuleTree() throws {
        var folded = TestSupport.tinyConfig()
        folded.batchNormFolded = true
        for config in [TestSupport.tinyConfig(), folded, .lite(0), .seedB0Mini(numClasses: 3)] {
            let model = try EfficientNet(config: config)
            let url = dir.appendingPathComponent("\(config.name)-\(config.batchNormFolded).effw")
            try model.write(to: url)
            let file = try EffwFile(path: url.path)
            XCTAssertEqual(file.entries.map(\.name), model.parameterShapes.map(\.name))
            XCTAssertEqual(file.entries.map(\.shape), model.parameterShapes.map(\.shape))
            XCTAssertEqual(Set(model.parameters.keys), Set(model.parameterShapes.map(\.name)))
        }
    }
}

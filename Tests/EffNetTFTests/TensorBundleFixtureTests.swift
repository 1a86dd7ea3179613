import Foundation
import EffNetTF
import XCTest

/// The reader against checkpoints TensorFlow's own tf.compat.v1 Saver wrote
/// (Fixtures/generate_tf_checkpoints.py): every variable TensorFlow lists, with its dtype and
/// shape, and every entry's CRC32C as TensorFlow computed it.
final class TensorBundleFixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tf")
    static let cases = ["official_b0", "official_lite", "user_no_ema"]

    struct Listed: Decodable, Equatable {
        var name: String
        var shape: [Int]
        var dtype: String
    }

    static func prefix(_ c: String) -> String { root.appendingPathComponent("\(c)/model.ckpt-1").path }

    func testEntriesMatchWhatTensorFlowLists() throws {
        for c in Self.cases {
            let listed = try JSONDecoder().decode([Listed].self, from: Data(contentsOf: Self.root.appendingPathComponent("\(c)/variables.json")))
            let bundle = try TensorBundle(prefix: Self.prefix(c))  // checks every CRC32C
            XCTAssertEqual(bundle.header.shardCount, 1)
            XCTAssertFalse(bundle.header.bigEndian)
            XCTAssertEqual(bundle.entries.map { Listed(name: $0.key, shape: $0.shape, dtype: $0.dataType.description) }, listed, c)
            let step = try XCTUnwrap(bundle.entry("global_step"))
            XCTAssertEqual(step.dataType, .int64)
            XCTAssertEqual(try bundle.tensor(step).int64s(), [1])
        }
    }

    /// Tensors are views into the mapped shard (no copy): their bytes are the shard's bytes at
    /// the entry's offset.
    func testTensorsAreViewsIntoTheShard() throws {
        let bundle = try TensorBundle(prefix: Self.prefix("official_b0"))
        let e = try XCTUnwrap(bundle.entry("efficientnet-b0/head/dense/kernel/ExponentialMovingAverage"))
        let t = try bundle.tensor(e)
        XCTAssertEqual(t.shape, e.shape)
        XCTAssertEqual(t.storage.bytes.baseAddress, bundle.bytes(of: e).baseAddress)
        let shard = try Data(contentsOf: URL(fileURLWithPath: bundle.shardPath(of: e)))
        XCTAssertEqual([UInt8](shard[e.offset ..< e.offset + e.size]), [UInt8](t.storage.bytes))
    }

    /// Every way of naming the checkpoint gives the same prefix.
    func testSourceForms() throws {
        let dir = Self.root.appendingPathComponent("official_b0").path
        let prefix = Self.prefix("official_b0")
        XCTAssertEqual(try TensorBundle.prefix(forSource: dir), prefix)
        XCTAssertEqual(try TensorBundle.prefix(forSource: dir + "/"), prefix)
        XCTAssertEqual(try TensorBundle.prefix(forSource: prefix), prefix)
        XCTAssertEqual(try TensorBundle.prefix(forSource: prefix + ".index"), prefix)
        XCTAssertEqual(try TensorBundle.prefix(forSource: prefix + ".data-00000-of-00001"), prefix)
        XCTAssertNil(try TensorBundle.prefix(forSource: Self.root.appendingPathComponent("official_b0/input.npy").path))
        XCTAssertNil(try TensorBundle.prefix(forSource: Self.root.path))
    }

    /// A SavedModel folder (saved_model.pb + variables/variables.index) and a `checkpoint` file
    /// naming a moved absolute prefix, as TensorFlow's get_checkpoint_state resolves them.
    func testSavedModelFolderAndMovedCheckpointState() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tf-forms-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let variables = tmp.appendingPathComponent("saved/variables")
        try FileManager.default.createDirectory(at: variables, withIntermediateDirectories: true)
        let src = Self.prefix("user_no_ema")
        try FileManager.default.copyItem(atPath: src + ".index", toPath: variables.appendingPathComponent("variables.index").path)
        try FileManager.default.copyItem(atPath: src + ".data-00000-of-00001", toPath: variables.appendingPathComponent("variables.data-00000-of-00001").path)
        try Data().write(to: tmp.appendingPathComponent("saved/saved_model.pb"))
        let saved = tmp.appendingPathComponent("saved").path
        XCTAssertEqual(try TensorBundle.prefix(forSource: saved), variables.appendingPathComponent("variables").path)
        XCTAssertEqual(try TensorBundle(prefix: try XCTUnwrap(TensorBundle.prefix(forSource: saved))).entries.count,
                       try TensorBundle(prefix: src).entries.count)

        let moved = tmp.appendingPathComponent("moved")
        try FileManager.default.createDirectory(at: moved, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: src + ".index", toPath: moved.appendingPathComponent("model.ckpt-7.index").path)
        try Data("model_checkpoint_path: \"/elsewhere/train/model.ckpt-7\"\n".utf8).write(to: moved.appendingPathComponent("checkpoint"))
        XCTAssertEqual(try TensorBundle.prefix(forSource: moved.path), moved.appendingPathComponent("model.ckpt-7").path)
        try Data("model_checkpoint_path: \"model.ckpt-9\"\n".utf8).write(to: moved.appendingPathComponent("checkpoint"))
        XCTAssertThrowsError(try TensorBundle.prefix(forSource: moved.path)) { error in
            XCTAssertTrue("\(error)".contains("model.ckpt-9"), "\(error)")
        }
    }
}

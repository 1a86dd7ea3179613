import EffNetInterchange
import Foundation
import EffNetTF
import XCTest

/// Damaged TensorFlow checkpoints, one way each: the reader's typed error (naming the file and
/// the offset or key), then the tools' contract (exit 2, one `error:` line naming the file,
/// nothing written). Bundles are written by `TFBundleBuilder`, so every damage sits behind
/// valid block CRCs and reaches the check it is meant for.
final class TFCheckpointHostileTests: HostileTestCase {
    static let tensors: [(String, [Int64])] = [("a/kernel", [2, 2]), ("b/bias", [3]), ("c/gamma", [1])]

    /// Writes `prefix.index` (and the shard unless `shard` is nil); returns the index path.
    func write(_ name: String, index: [UInt8], shard: [UInt8]?) throws -> String {
        let prefix = scratch.path(name)
        try scratch.write(index, "\(name).index")
        if let shard { try scratch.write(shard, "\(name).data-00000-of-00001") }
        return prefix + ".index"
    }

    /// Opens the bundle, expects `check` to accept the error, then runs the tools on the index.
    func assertRejected(_ name: String, index: [UInt8], shard: [UInt8]?, mentions: [String],
                        file: StaticString = #filePath, line: UInt = #line,
                        _ check: (TFCheckpointError) -> Bool) throws {
        let indexPath = try write(name, index: index, shard: shard)
        do {
            _ = try TensorBundle(prefix: String(indexPath.dropLast(6)))
            XCTFail("\(name): opened without an error", file: file, line: line)
        } catch let e as TFCheckpointError {
            XCTAssertTrue(check(e), "\(name): unexpected error \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(scratch.path(name)), "\(name): error does not name the file: \(e)", file: file, line: line)
        }
        try assertRefused(indexPath, mentions: mentions, file: file, line: line)
    }

    func testValidBundleOpens() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, restartInterval: 2)
        let p = try write("valid", index: index, shard: shard)
        let bundle = try TensorBundle(prefix: String(p.dropLast(6)))
        XCTAssertEqual(bundle.entries.map(\.key), ["a/kernel", "b/bias", "c/gamma"])
        XCTAssertEqual(try bundle.tensor(bundle.entries[0]).floats(), [0, 0.5, 1, 1.5])
        XCTAssertEqual(bundle.entries[1].shape, [3])
    }

    func testBadMagic() throws {
        var (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        index[index.count - 1] ^= 0xff
        try assertRejected("magic", index: index, shard: shard, mentions: ["magic"]) {
            if case .badFooter = $0 { return true } else { return false }
        }
    }

    func testFooterHandleOutsideTheFile() throws {
        var (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        let footer: [UInt8] = [0x7f, 0xff, 0xff, 0x03, 0x00, 0x10]
        for (i, b) in footer.enumerated() { index[index.count - 48 + i] = b }
        try assertRejected("footer", index: index, shard: shard, mentions: ["runs past the end"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testTruncatedIndex() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        try assertRejected("short", index: Array(index.prefix(40)), shard: shard, mentions: ["footer"]) {
            if case .badFooter = $0 { return true } else { return false }
        }
    }

    func testBlockChecksumMismatch() throws {
        var (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        index[6] ^= 0x01
        try assertRejected("blockcrc", index: index, shard: shard, mentions: ["CRC32C mismatch", "offset 0"]) {
            if case .blockChecksum = $0 { return true } else { return false }
        }
    }

    func testCompressedBlock() throws {
        let entries = [([UInt8](), TFBundleBuilder.header())]
        let index = TFBundleBuilder.table(entries, blockType: 1)
        try assertRejected("snappy", index: index, shard: [], mentions: ["compressed"]) {
            if case .compressedBlock(_, _, 1) = $0 { return true } else { return false }
        }
    }

    func testRestartOffsetOutsideTheBlock() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, damage: { block in
            let at = block.count - 8  // the only restart point
            for (i, b) in TFBundleBuilder.fixed32(0xffff).enumerated() { block[at + i] = b }
        })
        try assertRejected("restart", index: index, shard: shard, mentions: ["restart offset 65535"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testRestartCountOutsideTheBlock() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, damage: { block in
            let at = block.count - 4
            for (i, b) in TFBundleBuilder.fixed32(0x4000_0000).enumerated() { block[at + i] = b }
        })
        try assertRejected("restarts", index: index, shard: shard, mentions: ["restart points"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testRestartInsideAnEntry() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, damage: { block in
            let at = block.count - 8
            for (i, b) in TFBundleBuilder.fixed32(1).enumerated() { block[at + i] = b }
        })
        try assertRejected("restartmid", index: index, shard: shard, mentions: ["restart offset 1"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testKeyLengthOutsideTheBlock() throws {
        // The first entry (the header's empty key): [shared 0][unshared 0][value length] ...
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, damage: { block in block[1] = 0x7f })
        try assertRejected("keylength", index: index, shard: shard, mentions: ["run past the block"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testSharedKeyLongerThanThePreviousKey() throws {
        // The second entry ("a/kernel" after the empty key) claims 5 shared bytes.
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, damage: { block in
            let first = 3 + TFBundleBuilder.header().count
            block[first] = 5
        })
        try assertRejected("shared", index: index, shard: shard, mentions: ["shares 5 key bytes"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testKeysOutOfOrder() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, restartInterval: 1) { $0.swapAt(0, 1) }
        try assertRejected("order", index: index, shard: shard, mentions: ["out of order"]) {
            if case .badBlock = $0 { return true } else { return false }
        }
    }

    func testEntryChecksumMismatch() throws {
        var (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        shard[5] ^= 0x40
        try assertRejected("datacrc", index: index, shard: shard, mentions: ["a/kernel", "CRC32C mismatch"]) {
            if case .checksum(_, _, "a/kernel", 0, _, _) = $0 { return true } else { return false }
        }
    }

    func testMissingShard() throws {
        let (index, _) = TFBundleBuilder.bundle(Self.tensors)
        try assertRejected("noshard", index: index, shard: nil, mentions: ["data-00000-of-00001", "cannot be read"]) {
            if case .missingShard = $0 { return true } else { return false }
        }
    }

    func testShardShorterThanAnEntry() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        try assertRejected("shortshard", index: index, shard: Array(shard.dropLast(2)), mentions: ["c/gamma", "holds"]) {
            if case .shardTooShort(_, _, "c/gamma", _, _, _) = $0 { return true } else { return false }
        }
    }

    func testShapeDisagreesWithByteCount() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors) { $0[1].shape = [4] }
        try assertRejected("shape", index: index, shard: shard, mentions: ["b/bias", "needs 16 bytes"]) {
            if case .badEntry(_, "b/bias", _) = $0 { return true } else { return false }
        }
    }

    func testHugeShape() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors) { $0[0].shape = [Int64(Int32.max), Int64(Int32.max), Int64(Int32.max)] }
        try assertRejected("huge", index: index, shard: shard, mentions: ["a/kernel"]) {
            if case .badEntry(_, "a/kernel", _) = $0 { return true } else { return false }
        }
        let (index2, shard2) = TFBundleBuilder.bundle(Self.tensors) { $0[0].shape = [1 << 40] }
        try assertRejected("hugedim", index: index2, shard: shard2, mentions: ["a/kernel", "dimension"]) {
            if case .badEntry(_, "a/kernel", _) = $0 { return true } else { return false }
        }
    }

    func testShardIDOutsideTheHeader() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors) { $0[2].shard = 3 }
        try assertRejected("shardid", index: index, shard: shard, mentions: ["c/gamma", "shard 3"]) {
            if case .badEntry(_, "c/gamma", _) = $0 { return true } else { return false }
        }
    }

    func testOffsetPastTheShard() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors) { $0[0].offset = 1 << 40 }
        try assertRejected("offset", index: index, shard: shard, mentions: ["a/kernel"]) {
            if case .shardTooShort(_, _, "a/kernel", _, _, _) = $0 { return true } else { return false }
        }
    }

    func testMissingHeader() throws {
        let body = TFBundleBuilder.entryProto(.init(key: "x", shape: [1], offset: 0, size: 4, maskedCRC: 0))
        let index = TFBundleBuilder.table([(Array("x".utf8), body)])
        try assertRejected("noheader", index: index, shard: [0, 0, 0, 0], mentions: ["empty key"]) {
            if case .badHeader = $0 { return true } else { return false }
        }
    }

    func testUndecodableEntry() throws {
        let index = TFBundleBuilder.table([([], TFBundleBuilder.header()), (Array("x".utf8), [0x0a, 0x7f, 0x01])])
        try assertRejected("proto", index: index, shard: [], mentions: ["'x'"]) {
            if case .badEntry(_, "x", _) = $0 { return true } else { return false }
        }
    }

    // MARK: object graph (TF2 object-based checkpoints)

    func testObjectGraphDanglingReference() throws {
        let graph = TFBundleBuilder.objectGraph([(children: [(5, "model")], attributes: [])])
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, objectGraph: graph)
        let p = try write("dangling", index: index, shard: shard)
        let bundle = try TensorBundle(prefix: String(p.dropLast(6)))  // the graph's own CRC is fine
        XCTAssertThrowsError(try bundle.objectGraph()) { error in
            guard case .badObjectGraph? = error as? TFCheckpointError else { return XCTFail("\(error)") }
        }
        try assertRefused(p, mentions: ["object graph", "refers to node 5"])
    }

    func testUndecodableObjectGraph() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, objectGraph: [0x0a, 0x7f, 0x00])
        let p = try write("badgraph", index: index, shard: shard)
        try assertRefused(p, mentions: ["object graph"])
    }

    /// Objects may refer back to each other: a cycle neither hangs nor fails, and the variables
    /// still get their names.
    func testObjectGraphCycleIsWalkedOnce() throws {
        let graph = TFBundleBuilder.objectGraph([
            (children: [(1, "model")], attributes: []),
            (children: [(0, "back"), (1, "self")], attributes: [("stem_conv/kernel", "a/kernel")]),
        ])
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors, objectGraph: graph)
        let p = try write("cycle", index: index, shard: shard)
        let bundle = try TensorBundle(prefix: String(p.dropLast(6)))
        let g = try XCTUnwrap(try bundle.objectGraph())
        XCTAssertEqual(g.paths, [0: "", 1: "model"])
        let checkpoint = try SourceReader.read(path: p)
        XCTAssertEqual(checkpoint.names.sorted(), ["b/bias", "c/gamma", "stem_conv/kernel"])
    }

    /// A string entry whose bytes disagree with its CRC (the length-checksum layout is checked).
    func testStringEntryChecksumMismatch() throws {
        let graph = TFBundleBuilder.objectGraph([(children: [], attributes: [])])
        var (index, shard) = TFBundleBuilder.bundle(Self.tensors, objectGraph: graph)
        shard[1] ^= 0x01  // inside the length checksum
        try assertRejected("stringcrc", index: index, shard: shard, mentions: [TensorBundle.objectGraphKey, "CRC32C mismatch"]) {
            if case .checksum = $0 { return true } else { return false }
        }
    }

    // MARK: the --tf-variables option through the tool

    /// Raw variables of an EMA checkpoint fail verification (exit 1, nothing written); an
    /// unknown choice is a usage error (exit 2); the default writes.
    func testTFVariablesOption() throws {
        let dir = HostileFixtures.fixture("tf/official_b0")
        let pair = ["--check-input", "\(dir)/input.npy", "--check-output", "\(dir)/output.npy"]
        let raw = scratch.path("raw.effw")
        let r = try HostileRunner.run("effnet-convert", [dir, raw, "--tf-variables", "raw"] + pair)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.firstErrorLine.contains("verification failed"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: raw))
        let bogus = try HostileRunner.run("effnet-convert", [dir, scratch.path("b.effw"), "--tf-variables", "average"] + pair)
        XCTAssertEqual(bogus.status, 2)
        XCTAssertTrue(bogus.firstErrorLine.contains("--tf-variables"), bogus.stderr)
        let ema = scratch.path("ema.effw")
        let ok = try HostileRunner.run("effnet-convert", [dir, ema] + pair)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("ExponentialMovingAverage copies of"), ok.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ema))
    }

    /// DEST may not be any file of a SOURCE checkpoint, even with --force.
    func testDestinationInsideTheCheckpointIsRefused() throws {
        let (index, shard) = TFBundleBuilder.bundle(Self.tensors)
        let p = try write("own", index: index, shard: shard)
        let prefix = String(p.dropLast(6))
        for dest in [p, prefix + ".data-00000-of-00001"] {
            let before = try FileSnapshot(dest)
            let r = try HostileRunner.run("effnet-convert", [scratch.url.path, dest, "--force"])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.firstErrorLine.contains("file of the SOURCE checkpoint"), r.stderr)
            XCTAssertEqual(try FileSnapshot(dest), before)
        }
    }
}

import EffNet
import Foundation
import XCTest

/// effnet-finetune through the built tool: a run on a small image folder (the Fixtures/images
/// files as two classes) from a tiny random model, the file it writes, effnet-predict printing
/// the class names, and the bad-input contract (exit 2, one error line naming the file, nothing
/// written).
final class FinetuneToolTests: XCTestCase {
    var dir: URL!
    var base: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-finetune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        base = path("base.effw")
        try CLIFixtures.tinyModel().write(to: URL(fileURLWithPath: base))
        let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/images")
        let files = ["alpha_71x53.png", "cmyk_64x48.jpg", "gray_100x75.jpg", "gray_45x90.png",
                     "palette_60x40.png", "photo_320x240.jpg", "progressive_150x200.jpg", "rgb16_40x30.png"]
        for (i, f) in files.enumerated() {
            let cls = path("data/\(i % 2 == 0 ? "even" : "odd")")
            try FileManager.default.createDirectory(atPath: cls, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: images.appendingPathComponent(f).path, toPath: "\(cls)/\(f)")
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: path("data/odd/README.txt")))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func assertRefused(_ arguments: [String], mentions fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = path("refused.effw")
        let r = try ToolRunner.run("effnet-finetune", arguments.map { $0 == "OUT" ? out : $0 })
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        // Skipped-file warnings may come first; then exactly one error line.
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(fragment) == true, r.stderr, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "written despite the error", file: file, line: line)
    }

    func testTrainsWritesAndPredictPrintsTheClassNames() throws {
        let out = path("tuned.effw")
        let r = try ToolRunner.run("effnet-finetune", [base, path("data"), out, "--epochs", "3", "--batch", "2", "--val", "0.25",
                                                       "--optimizer", "adamw", "--lr", "0.01", "--label-smoothing", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("README.txt: skipped: not a JPEG or PNG image"), r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count, 3, r.stdout)
        XCTAssertTrue(r.stdout.contains("validation accuracy per class:"), r.stdout)
        XCTAssertTrue(r.stdout.contains("6 training and 2 validation images"), r.stdout)

        let file = try EffwFile(path: out)
        XCTAssertEqual(try file.classNames(classes: 2), ["even", "odd"])
        let record = try XCTUnwrap(file.metadata[EffwKeys.finetune])
        for fragment in ["\"optimizer\":\"adamw\"", "\"labelSmoothing\":0.1", "\"baseModel\":\"tiny\"", "\"sha256\":\"", "finalValidationAccuracy"] {
            XCTAssertTrue(record.contains(fragment), record)
        }
        let tuned = try EfficientNet(contentsOf: URL(fileURLWithPath: out))
        XCTAssertEqual(tuned.config.numClasses, 2)
        XCTAssertEqual(tuned.parameters["head.conv.weight"], try CLIFixtures.tinyModel().parameters["head.conv.weight"])

        let p = try ToolRunner.run("effnet-predict", [out, path("data/odd/cmyk_64x48.jpg"), "--top", "2"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("even") && p.stdout.contains("odd"), p.stdout)

        // The same settings and seed give the same file; an existing OUT needs --force.
        try assertRefused([base, path("data"), out], mentions: "exists")
        let again = path("again.effw")
        _ = try ToolRunner.run("effnet-finetune", [base, path("data"), again, "--epochs", "3", "--batch", "2", "--val", "0.25",
                                                   "--optimizer", "adamw", "--lr", "0.01", "--label-smoothing", "0.1"])
        XCTAssertEqual(try EfficientNet(contentsOf: URL(fileURLWithPath: again)).parameters, tuned.parameters)
    }

    /// An mlp head is written as the model's classifier chain, and effnet-predict runs it.
    func testMLPHeadIsWrittenAndPredicts() throws {
        let out = path("mlp.effw")
        let r = try ToolRunner.run("effnet-finetune", [base, path("data"), out, "--epochs", "2", "--batch", "2", "--head", "mlp:16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tuned = try EfficientNet(contentsOf: URL(fileURLWithPath: out))
        XCTAssertEqual(tuned.config.classifierChain?.map(\.kind), [.linear, .relu, .dropout, .linear])
        XCTAssertEqual(tuned.parameters["classifier.0.weight"]?.shape, [16, tuned.config.headChannels])
        let p = try ToolRunner.run("effnet-predict", [out, path("data/odd/cmyk_64x48.jpg"), "--top", "2"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("even") && p.stdout.contains("odd"), p.stdout)
    }

    /// --augment recomputes the features from random crops every epoch: a different head than
    /// without, the same one for the same seed; a val/ folder replaces the split.
    func testAugmentAndValidationFolder() throws {
        let common = ["--epochs", "2", "--batch", "4", "--val", "0"]
        let plain = path("plain.effw"), augmented = path("aug.effw"), again = path("aug2.effw")
        for (out, extra) in [(plain, [String]()), (augmented, ["--augment"]), (again, ["--augment"])] {
            let r = try ToolRunner.run("effnet-finetune", [base, path("data"), out] + common + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("8 training and 0 validation images"), r.stdout)
        }
        func classifier(_ p: String) throws -> Tensor? { try EfficientNet(contentsOf: URL(fileURLWithPath: p)).parameters["classifier.weight"] }
        XCTAssertNotEqual(try classifier(plain), try classifier(augmented))
        XCTAssertEqual(try classifier(again), try classifier(augmented))

        try FileManager.default.createDirectory(atPath: path("data/val/odd"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("data/odd/cmyk_64x48.jpg"), toPath: path("data/val/odd/x.jpg"))
        let r = try ToolRunner.run("effnet-finetune", [base, path("data"), path("withval.effw"), "--epochs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("8 training and 1 validation images"), r.stdout)
    }

    func testBadInputIsRefused() throws {
        try assertRefused([path("data/even/alpha_71x53.png"), path("data"), "OUT"], mentions: "alpha_71x53.png: not a usable .effw model")
        try assertRefused([base, path("missing"), "OUT"], mentions: "missing: not a folder")
        try assertRefused([base, path("data"), "OUT", "--optimizer", "rmsprop"], mentions: "unknown --optimizer")
        try assertRefused([base, path("data"), "OUT", "--val", "1"], mentions: "--val")
        try FileManager.default.createDirectory(atPath: path("data/empty"), withIntermediateDirectories: true)
        try assertRefused([base, path("data"), "OUT"], mentions: "class 'empty' has no JPEG or PNG images")
        try FileManager.default.removeItem(atPath: path("data/empty"))
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).write(to: URL(fileURLWithPath: path("data/even/cut.jpg")))
        try assertRefused([base, path("data"), "OUT"], mentions: "cut.jpg")
        try FileManager.default.removeItem(atPath: path("data/even/cut.jpg"))
        try FileManager.default.removeItem(atPath: path("data/odd"))
        try assertRefused([base, path("data"), "OUT"], mentions: "at least two are needed")
    }
}

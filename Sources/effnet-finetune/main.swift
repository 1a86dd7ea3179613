import ArgumentParser
import EffNet
import EffNetCLI
import EffNetTraining
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct EffnetFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "effnet-finetune",
        abstract: "Train a new classifier head on a frozen .effw EfficientNet from a folder of images.",
        discussion: """
        DATA_DIR has one subfolder of JPEG/PNG images per class (torchvision's ImageFolder layout,
        classes in sorted order); a val/ subfolder, when present, holds the validation images in
        the same layout (the training images are then in train/ or beside val/). OUT.effw is the
        base model with the new classifier, the class names (effnet-predict prints them) and a
        record of the training.

            effnet-finetune lite0.effw photos/ mine.effw --epochs 20 --optimizer adamw --lr 0.001
        """)

    @Argument(help: "The pretrained .effw model (frozen).")
    var base: String
    @Argument(help: "The image folder, one subfolder per class.")
    var dataDir: String
    @Argument(help: "The .effw file to write (never overwritten without --force).")
    var output: String

    @Option(help: "Passes over the training images.") var epochs = 10
    @Option(help: "Learning rate (default 0.01 for sgd, 0.001 for adamw).") var lr: Double?
    @Option(help: "Mini-batch size.") var batch = 32
    @Option(help: "sgd or adamw.") var optimizer = "sgd"
    @Option(help: "linear, or mlp:W (Linear-ReLU-Dropout-Linear, hidden width W).") var head = "linear"
    @Flag(help: "Random resized crops and horizontal flips (torchvision's defaults), features recomputed every epoch.") var augment = false
    @Option(help: "Fraction of each class held out for validation (without a val/ folder).") var val = 0.2
    @Option(help: "Seed for the initial weights, the split, shuffling and augmentation.") var seed: UInt64 = 0
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing of the cross-entropy.") var labelSmoothing = 0.0
    @Option(help: "SGD momentum.") var momentum = 0.9
    @Option(help: "SGD dampening.") var dampening = 0.0
    @Flag(help: "SGD with Nesterov momentum.") var nesterov = false
    @Option(name: .customLong("weight-decay"), help: "Weight decay (default 0 for sgd, 0.01 for adamw, decoupled).") var weightDecay: Double?
    @Option(help: "Dropout of an mlp head.") var dropout = 0.2
    @Flag(help: "Overwrite OUT.effw if it exists.") var force = false
    @Flag(help: "Print only errors.") var quiet = false

    func settings() throws -> FineTuning.Settings {
        var s = FineTuning.Settings()
        s.epochs = epochs; s.learningRate = lr; s.batchSize = batch
        guard let o = FineTuning.OptimizerKind(rawValue: optimizer) else { throw ValidationError("unknown --optimizer '\(optimizer)'; use sgd or adamw") }
        s.optimizer = o
        if head == "linear" {
            s.head = .linear
        } else if head.hasPrefix("mlp:"), let w = Int(head.dropFirst(4)) {
            s.head = .mlp(width: w, dropout: Float(dropout))
        } else {
            throw ValidationError("unknown --head '\(head)'; use linear or mlp:W (W the hidden width)")
        }
        s.augment = augment; s.validationFraction = val; s.seed = seed
        s.labelSmoothing = labelSmoothing; s.momentum = momentum; s.dampening = dampening
        s.nesterov = nesterov; s.weightDecay = weightDecay; s.overwrite = force
        do { try s.validate() } catch { throw ValidationError("\(error)") }
        return s
    }

    func validate() throws { _ = try settings() }

    func run() throws {
        let bar = isatty(2) != 0 && !quiet
        let result = try FineTuning.run(base: base, data: dataDir, output: output, settings: try settings()) { event in
            switch event {
            case let .skipped(path, reason):
                CommandRunner.writeStderr("warning: \(path): skipped: \(reason)\n")
            case let .features(done, total, epoch):
                guard bar else { return }
                let width = 30, filled = total > 0 ? done * width / total : width
                let what = epoch.map { "augmented features, epoch \($0 + 1)" } ?? "features"
                CommandRunner.writeStderr("\r\(what) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)")
                if done == total { CommandRunner.writeStderr("\r\u{1B}[K") }
            case let .epoch(e, total):
                guard !quiet else { return }
                let val = e.validationAccuracy.map { String(format: "%6.2f%%", 100 * $0) } ?? "     -"
                // Straight to the descriptor: a line per epoch as it ends, also into a pipe.
                let line = String(format: "epoch %d/%d  loss %.4f  train %6.2f%%  val %@  %.2f s\n",
                                  e.index + 1, total, Double(e.trainLoss), 100 * e.trainAccuracy, val, e.seconds)
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        guard !quiet else { return }
        if result.perClass.contains(where: { $0.total > 0 }) {
            print("validation accuracy per class:")
            let w = result.classes.map(\.count).max() ?? 0
            for (name, c) in zip(result.classes, result.perClass) {
                let pct = c.total > 0 ? String(format: "%6.2f%%", 100 * Double(c.correct) / Double(c.total)) : "     -"
                print("  \(name.padding(toLength: w, withPad: " ", startingAt: 0))  \(pct)  (\(c.correct)/\(c.total))")
            }
        }
        print("wrote \(output): \(result.classes.count) classes, \(result.record.data.trainImages) training and \(result.record.data.validationImages) validation images")
    }
}

CommandRunner.main(EffnetFinetune.self)

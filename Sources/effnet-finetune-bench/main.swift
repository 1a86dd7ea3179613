// effnet-finetune-bench: times training a head on cached pooled features, and feature extraction
// against the full forward pass; Benchmarks/finetune.sh runs it beside PyTorch doing the same.
//
//   effnet-finetune-bench train HEAD OPTIMIZER   HEAD linear|mlp:W, OPTIMIZER sgd|adamw: 10,000
//                                                random 1280-wide features (10 classes from a
//                                                random linear teacher), batch 32, 10 epochs,
//                                                best of 3 runs; one JSON line on stdout
//   effnet-finetune-bench features MODEL BATCH   MODEL b0|lite0, random weights, 224x224 images:
//                                                images/s of pooledFeatures and of the forward
//                                                pass (both threads); one JSON line
import EffNet
import EffNetTraining
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(2)
}

/// Features and labels made as Benchmarks/bench_finetune.py makes them (same sizes, not the same
/// numbers: the timing does not depend on them).
func data(n: Int, f: Int, classes: Int) -> (Tensor, [Int]) {
    var g = SeededGenerator(seed: 1)
    let teacher = (0 ..< f * classes).map { _ in g.nextUniform(in: -1, 1) }
    let x = (0 ..< n * f).map { _ in g.nextUniform(in: 0, 2) }
    let y = (0 ..< n).map { i -> Int in
        var best = 0, bestValue = -Float.infinity
        for c in 0 ..< classes {
            var s: Float = 0
            for k in 0 ..< f { s += x[i * f + k] * teacher[k * classes + c] }
            if s > bestValue { bestValue = s; best = c }
        }
        return best
    }
    return (Tensor(shape: [n, f], scalars: x), y)
}

func train(head kindText: String, optimizer: String) {
    let n = 10_000, f = 1280, classes = 10, epochs = 10, batch = 32
    let kind: Head.Kind
    if kindText == "linear" { kind = .linear } else if kindText.hasPrefix("mlp:"), let w = Int(kindText.dropFirst(4)) { kind = .mlp(width: w, dropout: 0.2) } else { fail("head: linear or mlp:W") }
    let (x, y) = data(n: n, f: f, classes: classes)
    var best = Double.infinity
    var accuracy = 0.0
    for run in 0 ..< 3 {
        let head = Head(kind: kind, inputFeatures: f, classes: classes, seed: UInt64(run))
        let opt: Optimizer
        do {
            opt = optimizer == "sgd" ? try SGD(learningRate: 0.01, momentum: 0.9) : try AdamW(learningRate: 1e-3)
        } catch { fail("\(error)") }
        let trainer = Trainer(head: head, optimizer: opt, loss: SoftmaxCrossEntropy(), batchSize: batch, seed: UInt64(run))
        let start = Date()
        var last: Trainer.Epoch?
        for e in 0 ..< epochs { last = trainer.runEpoch(e, features: x, labels: y, validation: nil) }
        best = min(best, Date().timeIntervalSince(start))
        accuracy = last?.trainAccuracy ?? 0
    }
    print("{\"engine\": \"swift\", \"task\": \"train\", \"head\": \"\(kindText)\", \"optimizer\": \"\(optimizer)\", \"seconds\": \(best), \"train_accuracy\": \(accuracy)}")
}

func features(model name: String, batch: Int) {
    let config: EfficientNetConfig = name == "lite0" ? .lite(0) : .b(0)
    let model: EfficientNet
    do {
        model = try EfficientNet(config: config)
        var g = SeededGenerator(seed: 2)
        var tensors: [String: Tensor] = [:]
        for (p, shape) in model.parameterShapes {
            let count = shape.reduce(1, *), fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            var v = (0 ..< count).map { _ in g.nextUniform(in: -1, 1) / Float(fanIn).squareRoot() }
            if p.hasSuffix("running_var") { v = v.map { 0.5 + abs($0) } }
            if p.hasSuffix("bn.weight") { v = v.map { 1 + $0 } }
            tensors[p] = Tensor(shape: shape, scalars: v)
        }
        try model.load(tensors)
    } catch { fail("\(error)") }
    var g = SeededGenerator(seed: 3)
    let x = Tensor(shape: [batch, 3, 224, 224], scalars: (0 ..< batch * 3 * 224 * 224).map { _ in g.nextUniform(in: -2, 2) })
    func rate(_ body: () throws -> Tensor) -> Double {
        var best = Double.infinity
        _ = try? body()
        for _ in 0 ..< 5 {
            let t = Date()
            _ = try? body()
            best = min(best, Date().timeIntervalSince(t))
        }
        return Double(batch) / best
    }
    let pooled = rate { try model.pooledFeatures(x) }
    let forward = rate { try model(x) }
    print("{\"engine\": \"swift\", \"task\": \"features\", \"model\": \"\(name)\", \"batch\": \(batch), \"pooled_images_per_second\": \(pooled), \"forward_images_per_second\": \(forward)}")
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "train" where args.count == 3: train(head: args[1], optimizer: args[2])
case "features" where args.count == 3:
    guard let batch = Int(args[2]), batch >= 1 else { fail("batch: a positive number") }
    features(model: args[1], batch: batch)
default: fail("usage: effnet-finetune-bench train linear|mlp:W sgd|adamw | features b0|lite0 BATCH")
}

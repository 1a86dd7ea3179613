import EffNet
import EffNetTraining
import Foundation
import XCTest

/// 50 optimiser steps against PyTorch (Fixtures/finetune, Fixtures/generate_finetune.py): the
/// same features, initial weights and batches; the head's weights and its logits on a held-out
/// batch must match torch's within 1e-5 relative (max |a - b| / max |b|).
final class TorchStepTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/finetune")

    struct Fixture: Decodable {
        struct Case: Decodable {
            struct Optimizer: Decodable {
                var kind: String
                var lr: Double
                var momentum: Double?
                var dampening: Double?
                var nesterov: Bool?
                var weight_decay: Double
                var betas: [Double]?
                var eps: Double?
            }
            var name: String
            var head: String
            var labelSmoothing: Double
            var optimizer: Optimizer
            var firstLoss: Double
            var lastLoss: Double
        }
        var classes: Int
        var width: Int
        var labels: [Int]
        var steps: [[Int]]
        var cases: [Case]
    }

    static func load() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: directory.appendingPathComponent("steps.json")))
    }

    static func npy(_ name: String) throws -> Tensor {
        try NPY.readTensor(path: directory.appendingPathComponent(name + ".npy").path)
    }

    /// max |a - b| / max |b|.
    static func relative(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        let err = zip(a.scalars, b.scalars).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        return err / max(b.maxAbs, .leastNormalMagnitude)
    }

    static func makeHead(_ kind: String, features: Int, fixture: Fixture) throws -> Head {
        let head = Head(kind: kind == "linear" ? .linear : .mlp(width: fixture.width, dropout: 0),
                        inputFeatures: features, classes: fixture.classes, seed: 0)
        var tensors: [String: Tensor] = [:]
        for p in head.parameters { tensors[p.name] = try npy("init_\(kind)_\(p.name)") }
        try head.load(tensors)
        return head
    }

    static func makeOptimizer(_ o: Fixture.Case.Optimizer) throws -> Optimizer {
        if o.kind == "sgd" {
            return try SGD(learningRate: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0,
                           weightDecay: o.weight_decay, nesterov: o.nesterov ?? false)
        }
        let betas = o.betas ?? [0.9, 0.999]
        return try AdamW(learningRate: o.lr, beta1: betas[0], beta2: betas[1], epsilon: o.eps ?? 1e-8, weightDecay: o.weight_decay)
    }

    func testFiftyStepsMatchTorch() throws {
        let fixture = try Self.load()
        let x = try Self.npy("features"), heldout = try Self.npy("heldout")
        XCTAssertEqual(fixture.steps.count, 50)
        XCTAssertEqual(fixture.cases.count, 12)
        for c in fixture.cases {
            let head = try Self.makeHead(c.head, features: x.shape[1], fixture: fixture)
            let trainer = Trainer(head: head, optimizer: try Self.makeOptimizer(c.optimizer),
                                  loss: SoftmaxCrossEntropy(labelSmoothing: Float(c.labelSmoothing)), batchSize: 16, seed: 0)
            var losses: [Float] = []
            for rows in fixture.steps {
                let batch = Trainer.gather(x, rows: rows, width: x.shape[1])
                losses.append(trainer.step(batch, labels: rows.map { fixture.labels[$0] }).loss)
            }
            XCTAssertEqual(Double(losses[0]), c.firstLoss, accuracy: 1e-5 * c.firstLoss, c.name)
            XCTAssertEqual(Double(losses[49]), c.lastLoss, accuracy: 1e-4 * max(c.lastLoss, 0.01), c.name)
            for p in head.parameters {
                let expected = try Self.npy("\(c.name)_\(p.name)")
                let err = Self.relative(p.value, expected)
                XCTAssertLessThan(err, 1e-5, "\(c.name) \(p.name): relative error \(err)")
            }
            let logits = head.forward(heldout, training: false)
            let err = Self.relative(logits, try Self.npy("\(c.name)_logits"))
            XCTAssertLessThan(err, 1e-5, "\(c.name) held-out logits: relative error \(err)")
        }
    }

    /// The torch checks SGD makes at construction.
    func testSGDRefusesWhatTorchRefuses() {
        XCTAssertThrowsError(try SGD(learningRate: 0.1, momentum: 0, nesterov: true))
        XCTAssertThrowsError(try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true))
        XCTAssertThrowsError(try SGD(learningRate: -1))
        XCTAssertThrowsError(try AdamW(learningRate: 0.1, beta1: 1))
    }
}

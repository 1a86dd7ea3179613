import EffNet
import EffNetTraining
import XCTest

/// The analytic gradients of cross-entropy (with label smoothing) through linear and MLP heads
/// against central finite differences of the same loss computed independently in double
/// precision (this file's own forward pass, not the head's).
final class GradientCheckTests: XCTestCase {
    /// The loss in double: layers 0 (and 3) of the head, ReLU between, smoothed cross-entropy.
    static func lossInDouble(_ params: [String: [Double]], head: Head, x: Tensor, labels: [Int], smoothing: Double) -> Double {
        let n = x.shape[0]
        var h = x.scalars.map(Double.init), width = x.shape[1]
        let dense = head.denseLayers
        for (li, layer) in dense.enumerated() {
            let name = layer.weight.name.split(separator: ".")[0]
            let w = params["\(name).weight"]!, b = params["\(name).bias"]!
            let out = layer.outputFeatures
            var y = [Double](repeating: 0, count: n * out)
            for i in 0 ..< n { for o in 0 ..< out {
                var s = b[o]
                for k in 0 ..< width { s += h[i * width + k] * w[o * width + k] }
                y[i * out + o] = li + 1 < dense.count ? max(0, s) : s
            } }
            h = y; width = out
        }
        var total = 0.0
        for i in 0 ..< n {
            let row = h[i * width ..< (i + 1) * width]
            let m = row.max()!
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            for (j, v) in row.enumerated() {
                let target = (j == labels[i] ? 1 - smoothing : 0) + smoothing / Double(width)
                total -= target * (v - lse)
            }
        }
        return total / Double(n)
    }

    func check(_ kind: Head.Kind, smoothing: Float) {
        let n = 6, f = 7, classes = 4
        var g = SeededGenerator(seed: 11)
        let x = Tensor(shape: [n, f], scalars: (0 ..< n * f).map { _ in g.nextUniform(in: -2, 2) })
        let labels = (0 ..< n).map { $0 % classes }
        let head = Head(kind: kind, inputFeatures: f, classes: classes, seed: 3)
        let logits = head.forward(x, training: true)
        let (lossValue, grad) = SoftmaxCrossEntropy(labelSmoothing: smoothing).loss(logits, labels: labels)
        head.zeroGradients()
        head.backward(grad)
        var params: [String: [Double]] = [:]
        for p in head.parameters { params[p.name] = p.value.scalars.map(Double.init) }
        let base = Self.lossInDouble(params, head: head, x: x, labels: labels, smoothing: Double(smoothing))
        XCTAssertEqual(Double(lossValue), base, accuracy: 1e-5 * base, "\(kind): loss")
        let eps = 1e-5
        for p in head.parameters {
            for i in p.value.scalars.indices {
                var plus = params, minus = params
                plus[p.name]![i] += eps
                minus[p.name]![i] -= eps
                let numeric = (Self.lossInDouble(plus, head: head, x: x, labels: labels, smoothing: Double(smoothing))
                    - Self.lossInDouble(minus, head: head, x: x, labels: labels, smoothing: Double(smoothing))) / (2 * eps)
                XCTAssertEqual(Double(p.grad.scalars[i]), numeric, accuracy: 1e-5 + 1e-4 * abs(numeric), "\(kind) \(p.name)[\(i)]")
            }
        }
        // The input gradient (what layers in front of the head would receive).
        let dx = head.backward(grad, inputGradient: true)!
        for i in [0, 5, 13, 41] {
            var xp = x, xm = x
            xp.scalars[i] += 1e-2; xm.scalars[i] -= 1e-2
            func loss(_ t: Tensor) -> Double { Self.lossInDouble(params, head: head, x: t, labels: labels, smoothing: Double(smoothing)) }
            let numeric = (loss(xp) - loss(xm)) / 2e-2
            XCTAssertEqual(Double(dx.scalars[i]), numeric, accuracy: 1e-4 + 1e-2 * abs(numeric), "\(kind) d/dx[\(i)]")
        }
    }

    func testLinearHead() { check(.linear, smoothing: 0); check(.linear, smoothing: 0.2) }
    func testMLPHead() { check(.mlp(width: 5, dropout: 0), smoothing: 0); check(.mlp(width: 5, dropout: 0), smoothing: 0.1) }

    /// Dropout scales kept values by 1 / (1 - p) in training and is the identity in evaluation.
    func testDropout() {
        let d = DropoutLayer(probability: 0.5, seed: 1)
        let x = Tensor(shape: [4, 50], scalars: [Float](repeating: 1, count: 200))
        let y = d.forward(x, training: true)
        XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || $0 == 2 })
        let kept = y.scalars.filter { $0 == 2 }.count
        XCTAssertTrue((60 ... 140).contains(kept), "\(kept) of 200 kept")
        let g = d.backward(Tensor(shape: [4, 50], scalars: [Float](repeating: 1, count: 200)), inputGradient: true)!
        XCTAssertEqual(g.scalars, y.scalars)
        XCTAssertEqual(d.forward(x, training: false), x)
    }
}

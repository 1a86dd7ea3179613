import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Fixtures written by Fixtures/generate_keras.py with real Keras 3.15 and tf_keras 2.21.
enum KerasFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/keras")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Reads through the general entry point; .keras archives go through `readKeras` while the
    /// zip dispatch (shared with PyTorch archives) does not hand them over yet.
    static func read(_ name: String) throws -> SourceCheckpoint {
        do {
            return try SourceReader.read(path: path(name))
        } catch let SourceError.notYetSupported(p, _) where p.hasSuffix(".keras") {
            return try SourceReader.readKeras(path: path(name))
        }
    }

    /// log(softmax) per row, in double precision.
    static func logSoftmax(_ t: Tensor) -> Tensor {
        let classes = t.shape.last ?? 1
        var out = t.scalars
        for r in 0 ..< t.count / classes {
            let row = t.scalars[r * classes ..< (r + 1) * classes].map(Double.init)
            let m = row.max() ?? 0
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            for c in 0 ..< classes { out[r * classes + c] = Float(row[c] - lse) }
        }
        return Tensor(shape: t.shape, scalars: out)
    }

    /// log of probabilities (clamped away from 0).
    static func logProbabilities(_ t: Tensor) -> Tensor {
        Tensor(shape: t.shape, scalars: t.scalars.map { Float(Foundation.log(max(Double($0), 1e-30))) })
    }
}

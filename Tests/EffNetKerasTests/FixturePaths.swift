import Foundation

/// Fixtures written by Fixtures/generate_keras.py (real Keras 3, tf_keras and h5py).
enum FixturePaths {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/keras")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A fresh path in the temporary directory for files a test writes.
    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("effnet-keras-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)-\(name)").path
    }
}

import EffNet
import Foundation
import XCTest

/// Runs the built command-line tools and captures what they print (swift-argument-parser's
/// TestHelpers do the same).
struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum ToolRunner {
    /// The folder holding the built products (beside the test bundle).
    static var binDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        fatalError("no test bundle")
        #else
        return Bundle.main.bundleURL
        #endif
    }

    /// - Parameter environment: variables to add to (or replace in) this process's environment.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ToolResult {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent(tool)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the tool.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                          stderr: String(decoding: e, as: UTF8.self))
    }
}

/// Deterministic models for the tool tests.
enum CLIFixtures {
    static func tinyModel(seed: UInt64 = 3) throws -> EfficientNet {
        var config = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 5)
        config.headChannels = 24
        let model = try EfficientNet(config: config)
        var state = seed
        func next() -> Float {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
        var tensors: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let n = shape.reduce(1, *)
            let v: [Float] = name.hasSuffix("running_var") ? (0 ..< n).map { _ in 0.5 + next() } : (0 ..< n).map { _ in next() - 0.5 }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try model.load(tensors)
        return model
    }

    static func input(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { Float(($0 * 7919) % 255) / 64 - 2 })
    }
}

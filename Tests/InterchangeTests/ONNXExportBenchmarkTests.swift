import EffNet
import EffNetInterchange
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Export timing for Benchmarks/onnx-export.sh, skipped unless EFFNET_ONNX_EXPORT_BENCH names the
/// folder where the script put torchvision state dicts (`b0.pth`, `b4.pth`, `b7.pth`): each is
/// converted, exported three times (wall and process CPU time of `ONNXExport.modelBytes`, the
/// best of three reported), and written as `swift_<name>.onnx` (and `swift_<name>_folded.onnx`)
/// for the script's ONNX Runtime comparison. Prints one `onnx-export-bench {json}` line per model.
final class ONNXExportBenchmarkTests: XCTestCase {
    private func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    func testExportTimes() throws {
        guard let dir = ProcessInfo.processInfo.environment["EFFNET_ONNX_EXPORT_BENCH"], !dir.isEmpty else {
            throw XCTSkip("set EFFNET_ONNX_EXPORT_BENCH (Benchmarks/onnx-export.sh does)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".pth") }.sorted()
        XCTAssertFalse(names.isEmpty, "no .pth in \(dir)")
        for file in names {
            let name = String(file.dropLast(4))
            let checkpoint = try SourceReader.read(path: dir + "/" + file)
            let model = try Converter.buildModel(checkpoint, try TorchFixtures.mapping(checkpoint, .torchvision))
            for fold in [false, true] {
                var best = (wall: Double.infinity, cpu: Double.infinity), bytes: [UInt8] = []
                for _ in 0 ..< 3 {
                    let w0 = Date(), c0 = cpuSeconds()
                    bytes = try ONNXExport.modelBytes(model, options: .init(foldBatchNorm: fold))
                    let wall = Date().timeIntervalSince(w0), cpu = cpuSeconds() - c0
                    if wall < best.wall { best = (wall, cpu) }
                }
                let out = "\(dir)/swift_\(name)\(fold ? "_folded" : "").onnx"
                try Data(bytes).write(to: URL(fileURLWithPath: out))
                let facts: [String: Any] = ["model": name, "folded": fold, "parameters": model.parameterCount, "bytes": bytes.count,
                                            "export_wall_s": best.wall, "export_cpu_s": best.cpu]
                let json = String(decoding: try JSONSerialization.data(withJSONObject: facts, options: [.sortedKeys]), as: UTF8.self)
                print("onnx-export-bench \(json)")
            }
        }
    }
}

import EffNet
import EffNetTorch
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Writing speed of a full-size archive (Benchmarks/torch_write_vs_cp.sh runs this and times
/// `cp` of its output). Skipped unless `EFFNET_TORCH_WRITE_BENCH` names a folder: there it writes
/// `b7.pth`, a torchvision efficientnet_b7 state dict (the shapes of
/// Fixtures/torch/manifests/torchvision.json, num_batches_tracked included, random values:
/// 267 MB), `EFFNET_TORCH_WRITE_RUNS` times (default 5), and prints
/// one line per run: wall and process CPU seconds for the streamed write through
/// `AtomicFileWriter` (fsync included), and for `archiveBytes` (no I/O).
final class TorchArchiveWriterBenchmark: XCTestCase {
    func testWriteB7SizedArchive() throws {
        let env = ProcessInfo.processInfo.environment
        guard let dir = env["EFFNET_TORCH_WRITE_BENCH"] else { throw XCTSkip("EFFNET_TORCH_WRITE_BENCH not set") }
        let runs = Int(env["EFFNET_TORCH_WRITE_RUNS"] ?? "") ?? 5
        let manifest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/torch/manifests/torchvision.json")
        let models = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [[String: Any]])
        let b7 = try XCTUnwrap(models.first { $0["variant"] as? String == "efficientnet_b7" })
        let entries = try XCTUnwrap(b7["tensors"] as? [[Any]])

        var state: UInt64 = 0x9e37_79b9_7f4a_7c15   // xorshift64: random enough, and fast
        var tensors: [TorchArchiveWriter.Tensor] = []
        for e in entries {
            let name = try XCTUnwrap(e[0] as? String), shape = try XCTUnwrap(e[1] as? [Int])
            let dtype: DType = name.hasSuffix("num_batches_tracked") ? .i64 : .f32
            var bytes = [UInt8](repeating: 0, count: shape.reduce(1, *) * dtype.size)
            bytes.withUnsafeMutableBytes { p in
                for i in stride(from: 0, to: p.count - 7, by: 8) {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    p.storeBytes(of: state, toByteOffset: i, as: UInt64.self)
                }
            }
            tensors.append(.init(name: name, dtype: dtype, shape: shape, bytes: bytes))
        }
        let total = tensors.reduce(0) { $0 + $1.bytes.count }
        print("b7: \(tensors.count) tensors, \(total) bytes of data")

        func clock(_ id: clockid_t) -> Double {
            var t = timespec()
            clock_gettime(id, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let path = dir + "/b7.pth"
        for run in 1 ... runs {
            let w0 = clock(CLOCK_MONOTONIC), c0 = clock(CLOCK_PROCESS_CPUTIME_ID)
            try AtomicFileWriter(destination: path, overwrite: true).write { sink in
                try TorchArchiveWriter.write(tensors, archiveName: "b7", to: &sink)
            }
            let w1 = clock(CLOCK_MONOTONIC), c1 = clock(CLOCK_PROCESS_CPUTIME_ID)
            let bytes = try TorchArchiveWriter.archiveBytes(tensors, archiveName: "b7")
            let w2 = clock(CLOCK_MONOTONIC), c2 = clock(CLOCK_PROCESS_CPUTIME_ID)
            print(String(format: "run %d: file %.3f s wall %.3f s cpu; in memory %.3f s wall %.3f s cpu; %d bytes",
                         run, w1 - w0, c1 - c0, w2 - w1, c2 - c1, bytes.count))
        }
    }
}

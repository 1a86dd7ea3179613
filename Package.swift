// swift-tools-version:6.0
// EffNetKit: EfficientNet weights from PyTorch, Keras and ONNX into Swift, verified.
//
// Layering (each arrow is "depends on"):
//   executables -> EffNetInterchange -> {TorchArchive, KerasHDF5, ONNXModel} -> EffNet
//   readers know nothing about EfficientNet; EffNet knows nothing about source formats.
import PackageDescription

let package = Package(
    name: "EffNetKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "EffNet", targets: ["EffNet"]),
        .library(name: "EffNetInterchange", targets: ["EffNetInterchange"]),
        .executable(name: "effnet-convert", targets: ["effnet-convert"]),
        .executable(name: "effnet-inspect", targets: ["effnet-inspect"]),
        .executable(name: "effnet-predict", targets: ["effnet-predict"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: C libraries from Debian (see scripts/install-deps.sh)
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // CRC-32 only: libdeflate's PCLMUL/AVX code checksums ~3x faster than zlib's (6.0 vs 2.2 GB/s
        // here), and checksumming every byte is what a conversion and an .effw load mostly do.
        .systemLibrary(name: "CLibdeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // libhdf5 is dlopened on the first HDF5 read, not linked (Sources/CHDF5/include/CHDF5.h):
        // its ~35 dependencies cost every tool ~7 ms of start-up. Needs the headers (libhdf5-dev).
        // -ldl: dlopen lives in libc from glibc 2.34 (here libdl is an empty archive), in libdl before.
        .target(name: "CHDF5", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // protoc-c output for Schemas/onnx.proto (scripts/gen-onnx-proto.sh); never hand-edited.
        .target(name: "ONNXProto", dependencies: ["CProtobufC"]),

        // MARK: The library users import: tensors, Config, module tree, forward pass, .effw, .npy
        .target(name: "EffNet", dependencies: ["CLibdeflate", "CFileSupport", "CEffNetKernels"]),
        // The fast forward pass's inner loops, compiled per CPU level and chosen at run time.
        .target(name: "CEffNetKernels"),
        // sync_file_range for the .effw writer's write-behind, O_TMPFILE, non-blocking opens, the
        // SIGBUS guard for file maps and the interrupt handlers (docs/HOSTILE_INPUT.md).
        .target(name: "CFileSupport"),

        // MARK: Format readers (format only, no EfficientNet knowledge)
        .target(name: "ZipArchive", dependencies: ["EffNet", "CZlib"]),
        .target(name: "TorchArchive", dependencies: ["EffNet", "ZipArchive"]),
        .target(name: "KerasHDF5", dependencies: ["EffNet", "ZipArchive", "CHDF5"]),
        .target(name: "ONNXModel", dependencies: ["EffNet", "ONNXProto", "CProtobufC"]),

        // MARK: Families, mapping, verification, the conversion pipeline
        .target(name: "EffNetInterchange",
                dependencies: ["EffNet", "TorchArchive", "KerasHDF5", "ONNXModel", "CFileSupport"]),
        // JPEG/PNG decoding and image preprocessing for effnet-predict
        .target(name: "ImageIO", dependencies: ["EffNet", "CJPEG", "CPNG", "CImageShim"]),
        // libjpeg/libpng error callbacks must longjmp, which Swift cannot: this C shim wraps a decode.
        .target(name: "CImageShim", dependencies: ["CJPEG", "CPNG"]),

        // MARK: Command-line tools (thin); EffNetCLI holds what they share (exit codes, error lines)
        .target(name: "EffNetCLI", dependencies: [
            "EffNetInterchange", "CFileSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "effnet-convert", dependencies: [
            "EffNetCLI", "CFileSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "effnet-inspect", dependencies: [
            "EffNetCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "effnet-predict", dependencies: [
            "EffNetCLI", "ImageIO", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // libFuzzer harness for every parser (scripts/fuzz.sh, docs/HOSTILE_INPUT.md); a plain
        // build makes a replay tool. Not a product.
        .executableTarget(name: "effnet-fuzz", dependencies: [
            "EffNet", "ZipArchive", "TorchArchive", "KerasHDF5", "ONNXModel", "EffNetInterchange"],
            path: "Sources/Fuzz/effnet-fuzz"),
        // Benchmark of the forward pass (Benchmarks/run.sh); not a product.
        .executableTarget(name: "effnet-bench", dependencies: ["EffNet"]),

        // MARK: Tests
        .testTarget(name: "EffNetTests", dependencies: ["EffNet", "CZlib"]),  // zlib: the CRC-32 oracle
        .testTarget(name: "ZipArchiveTests", dependencies: ["ZipArchive"]),
        .testTarget(name: "TorchArchiveTests", dependencies: ["TorchArchive"]),
        .testTarget(name: "KerasHDF5Tests", dependencies: ["KerasHDF5"]),
        .testTarget(name: "ONNXModelTests", dependencies: ["ONNXModel"]),
        .testTarget(name: "InterchangeTests", dependencies: ["EffNetInterchange", "ZipArchive", "ImageIO"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"]),
        .testTarget(name: "CLITests", dependencies: ["EffNet"]),
        // Hostile files through the built tools and the readers (docs/HOSTILE_INPUT.md).
        .testTarget(name: "HostileInputTests", dependencies: ["EffNet", "EffNetInterchange", "TorchArchive", "ZipArchive"]),
    ]
)

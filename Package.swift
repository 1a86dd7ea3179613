// swift-tools-version:6.0
// EffNetKit: EfficientNet weights from PyTorch, Keras and ONNX into Swift, verified.
//
// Layering (each arrow is "depends on"):
//   executables -> EffNetInterchange -> {TorchArchive, KerasHDF5, ONNXModel, TFCheckpoint} -> EffNet
//   readers know nothing about EfficientNet; EffNet knows nothing about source formats.
import PackageDescription

let package = Package(
    name: "EffNetKit",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "EffNet", targets: ["EffNet"]),
        .library(name: "EffNetInterchange", targets: ["EffNetInterchange"]),
        .library(name: "EffNetTraining", targets: ["EffNetTraining"]),
        // JPEG/PNG decoding and the preprocessing a model was trained with (config.imagePreprocessing),
        // for apps that feed the model images the way effnet-predict does. Needs libjpeg and libpng.
        .library(name: "EffNetImage", targets: ["EffNetImage"]),
        .executable(name: "effnet-convert", targets: ["effnet-convert"]),
        .executable(name: "effnet-inspect", targets: ["effnet-inspect"]),
        .executable(name: "effnet-predict", targets: ["effnet-predict"]),
        .executable(name: "effnet-finetune", targets: ["effnet-finetune"]),
        .executable(name: "effnet-diff", targets: ["effnet-diff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation` for the DocC catalogs (Sources/*/*.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: C libraries the readers and the image module use (scripts/install-deps.sh on Debian;
        // `brew install protobuf-c jpeg-turbo libpng hdf5` on macOS, where zlib is in the SDK).
        // EffNet, the library apps import, needs none of them.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // libhdf5 is dlopened on the first HDF5 read, not linked (Sources/CHDF5/include/CHDF5.h):
        // its ~35 dependencies cost every tool ~7 ms of start-up. Needs the headers (Debian:
        // libhdf5-dev; Homebrew: hdf5), found by CHDF5.h in their known places rather than through
        // pkg-config, because SwiftPM would link pkg-config's -lhdf5 into every product.
        // -ldl: dlopen lives in libc from glibc 2.34 (here libdl is an empty archive), in libdl before.
        .target(name: "CHDF5", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"]), .brew(["protobuf-c"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        // protoc-c output for Schemas/onnx.proto (scripts/gen-onnx-proto.sh); never hand-edited.
        .target(name: "ONNXProto", dependencies: ["CProtobufC"]),
        // protoc-c output for Schemas/tensor_bundle.proto (scripts/gen-tf-proto.sh); never hand-edited.
        .target(name: "TFCheckpointProto", dependencies: ["CProtobufC"]),
        // CRC32C (TensorFlow checkpoints): the SSE4.2 / ARMv8 instruction chosen at run time, else a table.
        .target(name: "CCRC32C"),

        // MARK: The library users import: tensors, Config, module tree, forward pass, .effw, .npy
        // No system library here: an app that only loads .effw files installs nothing.
        .target(name: "EffNet", dependencies: ["CEffNetCRC32", "CFileSupport", "CEffNetKernels"]),
        // The fast forward pass's inner loops, compiled per CPU level and chosen at run time.
        .target(name: "CEffNetKernels"),
        // CRC-32 (zip, .effw) by carry-less multiply / ARMv8 CRC32 / tables, chosen at run time.
        .target(name: "CEffNetCRC32"),
        // sync_file_range for the .effw writer's write-behind, O_TMPFILE, non-blocking opens, the
        // SIGBUS guard for file maps and the interrupt handlers (docs/HOSTILE_INPUT.md).
        .target(name: "CFileSupport"),

        // MARK: Format readers (format only, no EfficientNet knowledge)
        .target(name: "EffNetZip", dependencies: ["EffNet", "CZlib"]),
        .target(name: "EffNetTorch", dependencies: ["EffNet", "EffNetZip"]),
        .target(name: "EffNetKeras", dependencies: ["EffNet", "EffNetZip", "CHDF5"]),
        .target(name: "EffNetONNX", dependencies: ["EffNet", "ONNXProto", "CProtobufC"]),
        .target(name: "EffNetTF", dependencies: ["EffNet", "TFCheckpointProto", "CProtobufC", "CCRC32C"]),

        // MARK: Families, mapping, verification, the conversion pipeline
        .target(name: "EffNetInterchange",
                dependencies: ["EffNet", "EffNetTorch", "EffNetKeras", "EffNetONNX", "EffNetTF", "CFileSupport"]),
        // JPEG/PNG decoding and image preprocessing (the EffNetImage product; effnet-predict)
        .target(name: "EffNetImage", dependencies: ["EffNet", "CEffNetKernels", "CJPEG", "CPNG", "CImageShim"]),
        // MARK: Fine-tuning a new head on frozen pooled features (effnet-finetune)
        .target(name: "EffNetTraining", dependencies: ["EffNet", "EffNetImage", "CHeadKernels"]),
        // The head's matrix products, compiled for AVX2 + FMA and the baseline, chosen at run time.
        .target(name: "CHeadKernels"),
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
            "EffNetCLI", "EffNetInterchange", "EffNetImage", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "effnet-finetune", dependencies: [
            "EffNetCLI", "EffNetTraining", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Head training speed against PyTorch (Benchmarks/finetune.sh); not a product.
        .executableTarget(name: "effnet-finetune-bench", dependencies: ["EffNetTraining"]),
        .executableTarget(name: "effnet-diff", dependencies: [
            "EffNetCLI", "EffNetInterchange", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // libFuzzer harness for every parser (scripts/fuzz.sh, docs/HOSTILE_INPUT.md); a plain
        // build makes a replay tool. Not a product.
        .executableTarget(name: "effnet-fuzz", dependencies: [
            "EffNet", "EffNetZip", "EffNetTorch", "EffNetKeras", "EffNetONNX", "EffNetTF", "EffNetInterchange"],
            path: "Sources/Fuzz/effnet-fuzz"),
        // Benchmark of the forward pass (Benchmarks/run.sh); not a product.
        .executableTarget(name: "effnet-bench", dependencies: ["EffNet"]),

        // MARK: Tests
        .testTarget(name: "EffNetTests", dependencies: ["EffNet", "CEffNetCRC32"]),  // no system library (scripts/check-core-portable.sh)
        .testTarget(name: "EffNetZipTests", dependencies: ["EffNetZip"]),
        .testTarget(name: "EffNetTorchTests", dependencies: ["EffNetTorch"]),
        .testTarget(name: "EffNetKerasTests", dependencies: ["EffNetKeras"]),
        .testTarget(name: "EffNetONNXTests", dependencies: ["EffNetONNX"]),
        .testTarget(name: "EffNetTFTests", dependencies: ["EffNetTF"]),
        .testTarget(name: "InterchangeTests", dependencies: ["EffNetInterchange", "EffNetZip", "EffNetImage", "EffNetTraining"]),
        .testTarget(name: "EffNetTrainingTests", dependencies: ["EffNetTraining"]),
        .testTarget(name: "EffNetImageTests", dependencies: ["EffNetImage"]),
        .testTarget(name: "CLITests", dependencies: ["EffNet"]),
        // Hostile files through the built tools and the readers (docs/HOSTILE_INPUT.md).
        .testTarget(name: "HostileInputTests", dependencies: ["EffNet", "EffNetInterchange", "EffNetTorch", "EffNetZip", "EffNetTF"]),
    ]
)

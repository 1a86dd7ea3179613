// swift-tools-version:6.0
// A package that depends on EffNetKit's EffNet product alone, as an app that loads converted
// .effw weights would. CI builds it (scripts/test.sh) to show that EffNet needs no system
// library: SwiftPM builds only the targets the EffNet product needs, none of the readers' C
// libraries (zlib, libhdf5, protobuf-c, libjpeg, libpng).
//
// An app outside this repository writes, instead of the path dependency:
//   .package(url: "https://github.com/<owner>/EffNetKit", from: "0.1.0")
import PackageDescription

let package = Package(
    name: "UsesEffNet",
    platforms: [.macOS(.v13), .iOS(.v16)],
    dependencies: [
        .package(name: "EffNetKit", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "uses-effnet", dependencies: [.product(name: "EffNet", package: "EffNetKit")]),
    ]
)

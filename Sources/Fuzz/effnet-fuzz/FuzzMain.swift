#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EffNetInterchange
import Foundation

// Two builds of one executable (docs/HOSTILE_INPUT.md):
// - fuzz build (`-sanitize=fuzzer,address -parse-as-library -DFUZZING`, scripts/fuzz.sh):
//   libFuzzer drives the target named by the first argument (or $EFFNET_FUZZ_TARGET);
//       effnet-fuzz zip [libFuzzer flags] [corpus dirs | crash files]
// - normal build (what `swift build` makes for everyone): a replay tool running a target once on
//   each file given, so a crash file reproduces without the sanitizer toolchain:
//       effnet-fuzz zip crash-1234

/// Takes the target name from argv[1] or $EFFNET_FUZZ_TARGET. The name is also exported, so
/// processes libFuzzer starts itself (-fork, -jobs) run the same target.
func selectTarget(_ arguments: inout [String]) -> FuzzTarget {
    if arguments.count > 1, let t = FuzzTarget.named(arguments[1]) {
        arguments.remove(at: 1)
        setenv("EFFNET_FUZZ_TARGET", t.name, 1)
        return t
    }
    if let n = ProcessInfo.processInfo.environment["EFFNET_FUZZ_TARGET"], let t = FuzzTarget.named(n) { return t }
    var text = "usage: effnet-fuzz TARGET [libFuzzer flags | files]\ntargets:\n"
    for t in FuzzTarget.all { text += "  \(t.name)\t(seeds: \(t.seeds))\n" }
    FileHandle.standardError.write(Data(text.utf8))
    exit(2)
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selected else { return 0 }
    target.run(UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size))
    return 0
}

/// SwiftPM on Linux links an executable's entry point as `<target>_main` (RECIPES.md).
@_cdecl("effnet_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var arguments = (0 ..< Int(argc)).map { argv[$0].map { String(cString: $0) } ?? "" }
    // Contained children: the fuzzer binary itself. AddressSanitizer reserves terabytes of
    // address space, so the child's address-space limit must be off.
    setenv("EFFNET_CONTAINMENT_MEMORY_MB", "0", 0)
    ContainedRead.bootstrap(arguments: arguments)
    selected = selectTarget(&arguments)
    var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var count = CInt(arguments.count)
    return cArguments.withUnsafeMutableBufferPointer { buffer in
        var base = buffer.baseAddress
        return LLVMFuzzerRunDriver(&count, &base) { data, size in fuzzOneInput(data, size) }
    }
}
#else
@main
enum Replay {
    static func main() {
        ContainedRead.bootstrap()
        var arguments = CommandLine.arguments
        let target = selectTarget(&arguments)
        if let replay = target.replay {
            var status: Int32 = 0
            for path in arguments.dropFirst() { status = max(status, replay(path)) }
            exit(status)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("effnet-fuzz: cannot read \(path)\n".utf8))
                exit(2)
            }
            data.withUnsafeBytes { target.run($0) }
            print("\(target.name): \(path): no crash")
        }
    }
}
#endif

import EffNet
import XCTest

/// The reference kernels against the independent fast path where padding is at its most
/// lopsided: static "SAME" padding from a 224 nominal size applied to a small input, so late
/// stride-2 layers see inputs narrower than the kernel. (The reference once read one column
/// past the row there: a truncating division in the valid-column bound.)
final class ReferenceKernelTests: XCTestCase {
    func testStaticPaddingOnInputsNarrowerThanTheKernel() throws {
        let model = try TestSupport.randomModel(.lite(0, numClasses: 7), seed: 11)
        let x = TestSupport.randomInput([1, 3, 48, 40])
        model.inferenceOptions = InferenceOptions(kernels: .reference)
        let reference = try model(x)
        model.inferenceOptions = InferenceOptions(kernels: .fast, threads: 1)
        let fast = try model(x)
        let c = Comparison(actual: reference, reference: fast)
        XCTAssertLessThanOrEqual(c.relativeError, 1e-5, "reference vs fast: \(c.relativeError)")
    }
}

// Loads an .effw model and classifies an NCHW .npy input with EffNet alone:
//   uses-effnet MODEL.effw [INPUT.npy]
// Without arguments it prints the EffNetKit version and the CRC-32 code this CPU uses.
import EffNet
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let modelPath = arguments.first else {
    print("EffNetKit \(EffNetKitVersion.string), CRC-32: \(CRC32.implementation)")
    exit(0)
}
do {
    let model = try EfficientNet(contentsOf: URL(fileURLWithPath: modelPath))
    print("\(modelPath): \(model.config.numClasses) classes")
    if arguments.count > 1 {
        let input = try NPY.readTensor(path: arguments[arguments.startIndex + 1])
        let logits = try model(input)
        let classes = logits.shape.last ?? 0
        for row in 0 ..< (logits.shape.first ?? 0) {
            let scores = Array(logits.scalars[row * classes ..< (row + 1) * classes])
            print("row \(row): top-5 classes \(Comparison.topK(scores, 5))")
        }
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}

/// A small deterministic random generator (SplitMix64): the same seed gives the same numbers on
/// every platform and Swift version, unlike the standard library's shuffles, whose algorithm is
/// not specified. Used for initial weights, shuffling, splits, dropout and augmentation.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float in [low, high), from the top 24 bits.
    public mutating func nextUniform(in low: Float, _ high: Float) -> Float {
        let u = Float(next() >> 40) * (1 / Float(1 << 24))
        return low + (high - low) * u
    }

    /// A double in [0, 1), from the top 53 bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1 / Double(UInt64(1) << 53))
    }

    /// An integer in 0 ..< bound, without modulo bias (Lemire's method).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex: bound must be positive")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let t = (0 &- b) % b
            while m.low < t { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// 0 ..< count in a random order (Fisher-Yates, from the last position down).
    public mutating func permutation(_ count: Int) -> [Int] {
        var p = Array(0 ..< count)
        shuffle(&p)
        return p
    }

    /// Shuffles `values` in place (Fisher-Yates, from the last position down).
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, nextIndex(below: i + 1))
        }
    }

    /// The generator for one purpose ("shuffle", epoch 3 ...) of a run seeded with `seed`:
    /// independent streams, so that e.g. changing the number of epochs does not change the split.
    public static func stream(_ seed: UInt64, _ purpose: UInt64, _ index: UInt64 = 0) -> SeededGenerator {
        var g = SeededGenerator(seed: seed ^ (purpose &* 0xD1B5_4A32_D192_ED03) ^ (index &* 0x8CB9_2BA7_2F3D_8DD7))
        _ = g.next()
        return g
    }
}

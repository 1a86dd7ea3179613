/// A split of labelled examples into training and validation sets with every class in the same
/// proportion: each class's indices are shuffled (seeded) and round(count * fraction) of them go
/// to validation, at least one when the fraction is positive and the class has two or more.
public struct StratifiedSplit: Equatable, Sendable {
    /// Indices into the labels, ascending.
    public var train: [Int]
    public var validation: [Int]

    /// - Precondition: 0 <= fraction < 1.
    public init(labels: [Int], fraction: Double, seed: UInt64) {
        precondition(fraction >= 0 && fraction < 1, "validation fraction \(fraction) outside [0, 1)")
        var byClass: [Int: [Int]] = [:]
        for (i, l) in labels.enumerated() { byClass[l, default: []].append(i) }
        var train: [Int] = [], validation: [Int] = []
        for label in byClass.keys.sorted() {
            var members = byClass[label]!
            var g = SeededGenerator.stream(seed, 3, UInt64(label))
            g.shuffle(&members)
            var take = Int((Double(members.count) * fraction).rounded())
            if fraction > 0 && members.count >= 2 { take = max(1, take) }
            take = min(take, members.count - 1)
            validation += members.prefix(max(0, take))
            train += members.dropFirst(max(0, take))
        }
        self.train = train.sorted()
        self.validation = validation.sorted()
    }
}

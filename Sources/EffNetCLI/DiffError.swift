/// An effnet-diff failure whose text is complete (names the file).
public struct DiffError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A problem with training input or settings; `description` names the file or option at fault.
public struct TrainingError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

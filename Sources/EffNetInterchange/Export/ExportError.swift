/// Why an export was not written. Every case is a usage problem (exit 2), except a read-back
/// that does not reproduce the model, which the report carries as a failed verification.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// DEST's name asks for no container.
    case unknownContainer(destination: String)
    /// The container holds several families' files and `--to` does not say which.
    case targetNeeded(destination: String, container: ExportContainer, families: [FamilyName])
    /// `--to` names a family the container cannot hold.
    case targetMismatch(destination: String, container: ExportContainer, family: FamilyName)
    /// The family has no way to spell part of the model (a block form, a parameter).
    case cannotHold(family: FamilyName, convention: String, detail: String)
    /// The family's files cannot carry the model's conventions: each reason names one, and
    /// `alternatives` the families that can carry them all.
    case unfaithful(destination: String, family: FamilyName, reasons: [String], alternatives: [String])
    /// The written file, read back with the project's own reader, is not the model.
    case readBack(destination: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownContainer(d):
            return "\(d): the name asks for no file type EffNetKit writes; DEST may be \(ExportContainer.spellings)"
        case let .targetNeeded(d, c, families):
            return "\(d): a \(c.rawValue) file can hold \(families.map(\.rawValue).joined(separator: ", ")) names; say which with --to FAMILY"
        case let .targetMismatch(d, c, f):
            let fits = c.families.isEmpty ? "no --to (it is not a family's file)" : "--to \(c.families.map(\.rawValue).joined(separator: "|"))"
            return "\(d): --to \(f.rawValue) does not write a \(c.rawValue) file; this DEST takes \(fits)"
        case let .cannotHold(f, convention, detail):
            return "--to \(f.rawValue) cannot hold \(convention): \(detail)"
        case let .unfaithful(d, f, reasons, alternatives):
            let alt = alternatives.isEmpty ? "" : "; " + alternatives.joined(separator: " or ") + " can hold this model"
            return "\(d): \(f.rawValue) cannot hold this model faithfully: " + reasons.joined(separator: "; ") + alt
        case let .readBack(d, detail):
            return "\(d): the written file does not read back as the model: \(detail); nothing written"
        }
    }
}

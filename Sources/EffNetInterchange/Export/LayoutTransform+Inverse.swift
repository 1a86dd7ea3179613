import EffNet

extension LayoutTransform {
    /// Canonical layout -> the source's: what a writer applies to give a framework its own layout
    /// back (the inverse permutation of `apply`; a reshape cannot be undone without the source's
    /// shape and is refused).
    /// - Throws: `MappingError.layout` for a reshape, or a shape that does not suit the transform.
    public func invert(_ t: Tensor, name: String) throws -> Tensor {
        switch self {
        case .identity:
            return t
        case .reshape:
            throw MappingError.layout(name: name, transform: "inverse of \(description)", shape: t.shape)
        case .transpose2D:
            guard t.rank == 2 else { throw MappingError.layout(name: name, transform: "inverse of \(description)", shape: t.shape) }
            return Self.permute(t, [1, 0])
        case .hwioToOIHW:
            // OIHW -> (kh, kw, in, out)
            guard t.rank == 4 else { throw MappingError.layout(name: name, transform: "inverse of \(description)", shape: t.shape) }
            return Self.permute(t, [2, 3, 1, 0])
        case .depthwiseHWC1ToC1HW:
            // (C, 1, kh, kw) -> (kh, kw, C, 1)
            guard t.rank == 4, t.shape[1] == 1 else { throw MappingError.layout(name: name, transform: "inverse of \(description)", shape: t.shape) }
            return Self.permute(t, [2, 3, 0, 1])
        }
    }
}

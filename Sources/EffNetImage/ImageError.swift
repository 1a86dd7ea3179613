/// Why an image could not be read or used. `description` names the file first.
public struct ImageError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The file cannot be opened or read (the system's reason).
        case unreadable(String)
        /// The file is neither JPEG nor PNG (judged by content, not extension).
        case unknownFormat
        /// The data ends before the image does.
        case truncated(String)
        /// The decoder refused the data (its message).
        case corrupt(String)
        /// Larger than `ImageDecoder.maxDimension` a side or `ImageDecoder.maxPixels` in all.
        case tooLarge(width: Int, height: Int)
        /// A valid image this reader does not handle (its reason).
        case unsupported(String)
    }

    /// The file (or the name given for in-memory data).
    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case let .unreadable(why): return "\(path): cannot read the image: \(why)"
        case .unknownFormat: return "\(path): not a JPEG or PNG image (unrecognised content)"
        case let .truncated(what): return "\(path): truncated image: \(what)"
        case let .corrupt(what): return "\(path): damaged image: \(what)"
        case let .tooLarge(w, h):
            return "\(path): image is \(w)x\(h); at most \(ImageDecoder.maxDimension) pixels a side and \(ImageDecoder.maxPixels) pixels in all are accepted"
        case let .unsupported(what): return "\(path): unsupported image: \(what)"
        }
    }
}

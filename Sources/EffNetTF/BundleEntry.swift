/// One variable of a tensor bundle, as its `BundleEntryProto` describes it, after the checks
/// that need no data shard (shape, size, dtype; the shard and its extent are checked when the
/// bundle is opened).
public struct BundleEntry: Equatable, Sendable {
    /// The variable's checkpoint key, e.g. "efficientnet-b0/stem/conv2d/kernel".
    public var key: String
    public var dataType: TFDataType
    public var shape: [Int]
    public var shardID: Int
    public var offset: Int
    public var size: Int
    /// The masked CRC32C of the stored bytes, as stored.
    public var maskedCRC32C: UInt32

    public var elementCount: Int { shape.reduce(1, *) }
}

/// The empty key's `BundleHeaderProto`.
public struct BundleHeader: Equatable, Sendable {
    public var shardCount: Int
    public var bigEndian: Bool
    /// The bundle format version that wrote the file (TensorFlow writes producer 1).
    public var producer: Int
    public var minConsumer: Int
}

import EffNet
import EffNetZip

extension TorchArchiveWriter {
    /// `.data/serialization_id`: 40 decimal digits that torch writes last and only logs when
    /// loading (`torch.load.metadata`); nothing checks it. torch's writer
    /// (caffe2/serialize/inline_container.cc, `writeSerializationId`) prints two zero-padded
    /// 20-digit numbers:
    /// 1. `c10::hash_combine` over `std::hash` of every record name, in the iteration order of
    ///    a C++ `unordered_set`, which depends on the C++ library: not reproducible here. We
    ///    combine the CRC-32 of each record name in write order instead, so these 20 digits
    ///    differ from torch's;
    /// 2. `c10::hash_combine` over the CRC-32 of every data descriptor written, in order:
    ///    reproduced exactly, including torch's quirk of also counting an entry whose data
    ///    itself starts with a data-descriptor signature.
    struct SerializationID {
        private var namesHash: UInt64 = 0
        private var combinedCRC: UInt64 = 0

        /// Accounts for one record (its name without the archive prefix).
        mutating func recorded(name: String, entry: ZipWriter.Entry, data: UnsafeRawBufferPointer) {
            namesHash = Self.hashCombine(namesHash, UInt64(CRC32.checksum(Array(name.utf8))))
            // An empty entry has no data descriptor: torch's hook sees nothing to combine.
            guard entry.size > 0 else { return }
            // torch's write hook inspects every write of 8 bytes or more that starts with the
            // descriptor signature; an entry's data is one such write.
            if data.count >= 8, data.loadUnaligned(as: UInt32.self).littleEndian == ZipWriter.dataDescriptorSignatureValue {
                combinedCRC = Self.hashCombine(combinedCRC, UInt64(data.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian))
            }
            combinedCRC = Self.hashCombine(combinedCRC, UInt64(entry.crc32))
        }

        var digits: String { Self.padded(namesHash) + Self.padded(combinedCRC) }

        /// c10::hash_combine (Boost's), on 64-bit size_t.
        static func hashCombine(_ seed: UInt64, _ value: UInt64) -> UInt64 {
            seed ^ (value &+ 0x9e37_79b9 &+ (seed << 6) &+ (seed >> 2))
        }

        static func padded(_ v: UInt64) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, 20 - s.count)) + s
        }
    }
}

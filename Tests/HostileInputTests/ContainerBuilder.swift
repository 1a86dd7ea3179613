import EffNet
import Foundation

/// Builds containers around hand-made payloads in the tests: stored zip archives in torch.save's
/// layout, and legacy torch.save files (a sequence of pickles, then the storage bytes).
enum ContainerBuilder {
    /// A zip of STORED entries (CRC-32s and sizes correct).
    static func zip(_ entries: [(name: String, data: [UInt8])]) -> [UInt8] {
        var body: [UInt8] = [], central: [UInt8] = []
        for (name, data) in entries {
            let n = Array(name.utf8)
            let crc = data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = body.count
            body += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
                + le32(Int(crc)) + le32(data.count) + le32(data.count) + le16(n.count) + le16(0) + n + data
            central += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
                + le32(Int(crc)) + le32(data.count) + le32(data.count) + le16(n.count) + le16(0) + le16(0)
                + le16(0) + le16(0) + le32(0) + le32(offset) + n
        }
        let eocd = le32(0x0605_4b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(central.count) + le32(body.count) + le16(0)
        return body + central + eocd
    }

    /// torch.save's zip layout around `dataPkl`.
    static func torchZip(dataPkl: [UInt8], storages: [(key: String, bytes: [UInt8])] = []) -> [UInt8] {
        zip([("archive/data.pkl", dataPkl), ("archive/byteorder", Array("little".utf8))]
            + storages.map { ("archive/data/" + $0.key, $0.bytes) } + [("archive/version", Array("3\n".utf8))])
    }

    /// torch.save's legacy layout: magic, protocol 1001, sys_info {} pickles, `objectPickle`,
    /// the key list, then per key an int64 count and the bytes.
    static func legacy(objectPickle: [UInt8], storages: [(key: String, count: Int64, bytes: [UInt8])] = []) -> [UInt8] {
        let magic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]
        let version: [UInt8] = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]
        let sysInfo: [UInt8] = [0x80, 0x02, 0x7d, 0x2e]
        var keys: [UInt8] = [0x80, 0x02, 0x5d, 0x28]
        for s in storages { keys += Pickle.string(s.key) }
        keys += [0x65, 0x2e]
        var data: [UInt8] = []
        for s in storages { data += Pickle.le64(UInt64(bitPattern: s.count)) + s.bytes }
        return magic + version + sysInfo + objectPickle + keys + data
    }

    static func le16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    static func le32(_ v: Int) -> [UInt8] { Pickle.le32(v) }
}

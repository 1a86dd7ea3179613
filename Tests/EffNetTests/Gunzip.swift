import EffNet

/// A gzip member (RFC 1952) around a DEFLATE stream, decoded by `Inflater`: the header (magic,
/// method 8, reserved flags clear, FEXTRA / FNAME / FCOMMENT skipped, FHCRC checked), then the
/// trailer's CRC-32 and ISIZE checked against what was inflated. One member only: anything after
/// the first member's trailer is an error (the fixtures are single members, as Python writes).
enum Gunzip {
    /// The decompressed bytes of the gzip file `input` (named `name` in errors), refusing more
    /// than `maxOutput` bytes.
    static func decompress(_ input: [UInt8], name: String, maxOutput: Int) throws -> [UInt8] {
        do {
            return try decompress(input, maxOutput: maxOutput)
        } catch let error as FixtureError {
            throw FixtureError("\(name): \(error.description)")
        }
    }

    private static func decompress(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        guard input.count >= 18 else { throw FixtureError("\(input.count) bytes are too short for a gzip file") }
        guard input[0] == 0x1F, input[1] == 0x8B else { throw FixtureError("not gzip (no 1f 8b magic)") }
        guard input[2] == 8 else { throw FixtureError("byte 2: compression method \(input[2]), not deflate (8)") }
        let flags = input[3]
        guard flags & 0xE0 == 0 else { throw FixtureError("byte 3: reserved flag bits set (\(flags))") }
        var position = 10  // magic, method, flags, MTIME (4), XFL, OS
        func skip(_ n: Int) throws {
            guard n <= input.count - position else { throw FixtureError("byte \(position): gzip header is truncated") }
            position += n
        }
        func skipZeroTerminated() throws {
            guard let end = input[position...].firstIndex(of: 0) else {
                throw FixtureError("byte \(position): unterminated name or comment in the gzip header")
            }
            position = end + 1
        }
        if flags & 0x04 != 0 {  // FEXTRA: XLEN, then XLEN bytes
            try skip(2)
            try skip(Int(input[position - 2]) | Int(input[position - 1]) << 8)
        }
        if flags & 0x08 != 0 { try skipZeroTerminated() }  // FNAME
        if flags & 0x10 != 0 { try skipZeroTerminated() }  // FCOMMENT
        if flags & 0x02 != 0 {  // FHCRC: the low 16 bits of the CRC-32 of the header before it
            try skip(2)
            let stored = UInt32(input[position - 2]) | UInt32(input[position - 1]) << 8
            let computed = CRC32.checksum(Array(input[..<(position - 2)])) & 0xFFFF
            guard stored == computed else { throw FixtureError("gzip header CRC \(stored) != computed \(computed)") }
        }

        var inflater = Inflater(input, from: position, maxOutput: maxOutput)
        let end = try inflater.run()
        let output = inflater.output
        guard input.count - end >= 8 else { throw FixtureError("byte \(end): gzip trailer is truncated") }
        func le32(_ at: Int) -> UInt32 { (0 ..< 4).reduce(0) { $0 | UInt32(input[at + $1]) << (8 * UInt32($1)) } }
        let crc = CRC32.checksum(output)  // EffNet's CRC-32, itself checked by CRC32Tests
        guard le32(end) == crc else {
            throw FixtureError("byte \(end): CRC-32 \(CRC32.hex(le32(end))) in the trailer, \(CRC32.hex(crc)) inflated")
        }
        guard le32(end + 4) == UInt32(truncatingIfNeeded: output.count) else {
            throw FixtureError("byte \(end + 4): ISIZE \(le32(end + 4)) in the trailer, \(output.count) bytes inflated")
        }
        guard end + 8 == input.count else {
            throw FixtureError("byte \(end + 8): \(input.count - end - 8) bytes after the gzip member")
        }
        return output
    }
}

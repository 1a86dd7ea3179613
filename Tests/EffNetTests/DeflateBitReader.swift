/// Reads a DEFLATE stream's bits (RFC 1951 section 3.1.1): least significant bit of each byte
/// first, fetching one byte at a time only when needed, so that after any read fewer than 8
/// bits are held and `alignToByte()` leaves `position` at the next unread byte (stored blocks
/// and the gzip trailer start there).
struct DeflateBitReader {
    let input: [UInt8]
    /// The next byte not yet moved into `buffer`.
    private(set) var position: Int
    private var buffer: UInt64 = 0
    private var count = 0

    init(_ input: [UInt8], from start: Int) {
        self.input = input
        position = start
    }

    /// The next `n` bits (0...32) as a number, first bit lowest.
    mutating func bits(_ n: Int) throws -> Int {
        while count < n {
            guard position < input.count else { throw FixtureError("byte \(position): deflate data is truncated") }
            buffer |= UInt64(input[position]) << UInt64(count)
            position += 1
            count += 8
        }
        let value = Int(buffer & ((1 << UInt64(n)) - 1))
        buffer >>= UInt64(n)
        count -= n
        return value
    }

    /// Drops the bits left in the current byte.
    mutating func alignToByte() {
        buffer = 0
        count = 0
    }

    /// `n` whole bytes (after `alignToByte()`).
    mutating func bytes(_ n: Int) throws -> ArraySlice<UInt8> {
        precondition(count == 0, "bytes(_:) needs a byte-aligned reader")
        guard n <= input.count - position else { throw FixtureError("byte \(position): deflate data is truncated") }
        defer { position += n }
        return input[position ..< position + n]
    }
}

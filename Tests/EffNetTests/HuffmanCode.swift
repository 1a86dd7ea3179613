/// A canonical Huffman code (RFC 1951 section 3.2.2) described by its code lengths, decoded one
/// bit at a time the way zlib's reference decoder `puff.c` does: codes of each length are
/// consecutive numbers, so a code of length `len` is valid when it lies below `first + count[len]`.
struct HuffmanCode {
    static let maxBits = 15
    /// How many symbols have each code length (index 0 unused).
    private var counts = [Int](repeating: 0, count: maxBits + 1)
    /// The symbols in code order: by length, then by symbol value.
    private var symbols: [Int] = []
    /// Room left in the code space, in units of one 15-bit code: 0 for a complete code.
    private(set) var unused = 0

    /// Throws for an over-subscribed set of lengths (more codes than the bit patterns allow).
    init(lengths: [Int]) throws {
        for l in lengths { counts[l] += 1 }
        var left = 1
        for len in 1 ... Self.maxBits {
            left = left * 2 - counts[len]
            guard left >= 0 else { throw FixtureError("over-subscribed Huffman code (length \(len))") }
        }
        unused = counts[1...].reduce(0, +) == 0 ? 0 : left  // no codes at all: nothing to be complete
        var offsets = [Int](repeating: 0, count: Self.maxBits + 1)
        for len in 1 ..< Self.maxBits { offsets[len + 1] = offsets[len] + counts[len] }
        symbols = [Int](repeating: 0, count: lengths.count)
        for (symbol, len) in lengths.enumerated() where len != 0 {
            symbols[offsets[len]] = symbol
            offsets[len] += 1
        }
    }

    /// One symbol with a code of length 1: the only incomplete code DEFLATE allows (a block that
    /// uses one distance code), as zlib and puff.c accept it.
    var isSingleLengthOneCode: Bool { counts[1] == 1 && counts[2...].allSatisfy { $0 == 0 } }

    /// The next symbol from `reader`.
    func decode(_ reader: inout DeflateBitReader) throws -> Int {
        var code = 0, first = 0, index = 0
        for len in 1 ... Self.maxBits {
            code |= try reader.bits(1)
            let count = counts[len]
            if code - first < count { return symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw FixtureError("byte \(reader.position): no Huffman code matches")
    }
}

/// A plain DEFLATE decoder (RFC 1951) for the test support: the core's fixtures are gzip'd
/// (Fixtures/core/seed_b0_mini.effw.gz), and the core's tests link no zlib. It follows zlib's
/// reference decoder `puff.c`: stored, fixed-Huffman and dynamic-Huffman blocks, every malformed
/// case an error (never a trap), and the output bounded by `maxOutput` so a damaged or hostile
/// stream cannot grow memory without limit. It is for tests only: the EffNet library reads
/// uncompressed .effw files and has no inflater.
struct Inflater {
    private var reader: DeflateBitReader
    private let maxOutput: Int
    private(set) var output: [UInt8] = []
    /// The BTYPE of every block decoded, in order (0 stored, 1 fixed, 2 dynamic Huffman).
    private(set) var blockTypes: [Int] = []

    /// Decodes the raw DEFLATE stream that starts at `input[start]`; at most `maxOutput` bytes.
    init(_ input: [UInt8], from start: Int, maxOutput: Int) {
        reader = DeflateBitReader(input, from: start)
        self.maxOutput = maxOutput
        output.reserveCapacity(min(maxOutput, 64 << 20))
    }

    /// Decodes every block up to and including the final one. Returns the index of the first
    /// byte after the stream (the final block ends on a byte boundary for what follows).
    mutating func run() throws -> Int {
        var last = false
        while !last {
            last = try reader.bits(1) == 1
            let type = try reader.bits(2)
            blockTypes.append(type)
            switch type {
            case 0: try storedBlock()
            case 1: try codes(Self.fixedCodes.literalLength, Self.fixedCodes.distance)
            case 2:
                let (literalLength, distance) = try dynamicCodes()
                try codes(literalLength, distance)
            default: throw FixtureError("byte \(reader.position): invalid block type 3")
            }
        }
        reader.alignToByte()
        return reader.position
    }

    // MARK: Blocks

    /// Section 3.2.4: LEN, its ones' complement NLEN, then LEN bytes as they are.
    private mutating func storedBlock() throws {
        reader.alignToByte()
        let length = try reader.bits(16)
        let complement = try reader.bits(16)
        guard length == ~complement & 0xFFFF else {
            throw FixtureError("byte \(reader.position): stored block length \(length) does not match its complement")
        }
        try reserve(length)
        output += try reader.bytes(length)
    }

    /// Section 3.2.6: the fixed codes (distance codes 30 and 31 exist but never occur).
    private static let fixedCodes: (literalLength: HuffmanCode, distance: HuffmanCode) = {
        let literalLength = [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112)
            + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
        // swiftlint:disable:next force_try
        return (try! HuffmanCode(lengths: literalLength), try! HuffmanCode(lengths: [Int](repeating: 5, count: 30)))
    }()

    /// The order in which a dynamic block lists the code-length code's lengths (section 3.2.7).
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Section 3.2.7: the code-length code, then the literal/length and distance code lengths in it.
    private mutating func dynamicCodes() throws -> (HuffmanCode, HuffmanCode) {
        let literalCount = try reader.bits(5) + 257
        let distanceCount = try reader.bits(5) + 1
        let codeLengthCount = try reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw FixtureError("byte \(reader.position): \(literalCount) literal/length or \(distanceCount) distance codes")
        }
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for i in 0 ..< codeLengthCount { codeLengthLengths[Self.codeLengthOrder[i]] = try reader.bits(3) }
        let codeLengthCode = try HuffmanCode(lengths: codeLengthLengths)
        guard codeLengthCode.unused == 0 else { throw FixtureError("byte \(reader.position): incomplete code-length code") }

        var lengths: [Int] = []
        let total = literalCount + distanceCount
        while lengths.count < total {
            let symbol = try codeLengthCode.decode(&reader)
            let (value, repeats): (Int, Int)
            switch symbol {
            case 0 ..< 16: (value, repeats) = (symbol, 1)
            case 16:
                guard let previous = lengths.last else { throw FixtureError("byte \(reader.position): repeat with no previous length") }
                (value, repeats) = (previous, 3 + (try reader.bits(2)))
            case 17: (value, repeats) = (0, 3 + (try reader.bits(3)))
            default: (value, repeats) = (0, 11 + (try reader.bits(7)))
            }
            guard lengths.count + repeats <= total else { throw FixtureError("byte \(reader.position): code lengths overrun") }
            lengths += repeatElement(value, count: repeats)
        }
        guard lengths[256] != 0 else { throw FixtureError("byte \(reader.position): no end-of-block code") }
        let literalLength = try HuffmanCode(lengths: Array(lengths[..<literalCount]))
        let distance = try HuffmanCode(lengths: Array(lengths[literalCount...]))
        for (code, name) in [(literalLength, "literal/length"), (distance, "distance")]
        where code.unused != 0 && !code.isSingleLengthOneCode {
            throw FixtureError("byte \(reader.position): incomplete \(name) code")
        }
        return (literalLength, distance)
    }

    // MARK: Compressed data (section 3.2.5)

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                     35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                       257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                       8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                        7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// Literals and (length, distance) copies until the end-of-block symbol.
    private mutating func codes(_ literalLength: HuffmanCode, _ distance: HuffmanCode) throws {
        while true {
            let symbol = try literalLength.decode(&reader)
            if symbol < 256 {
                try reserve(1)
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < 29 else { throw FixtureError("byte \(reader.position): invalid length symbol \(symbol)") }
            let length = Self.lengthBase[lengthIndex] + (try reader.bits(Self.lengthExtra[lengthIndex]))
            let distanceIndex = try distance.decode(&reader)
            guard distanceIndex < 30 else { throw FixtureError("byte \(reader.position): invalid distance symbol \(distanceIndex)") }
            let back = Self.distanceBase[distanceIndex] + (try reader.bits(Self.distanceExtra[distanceIndex]))
            guard back <= output.count else {
                throw FixtureError("byte \(reader.position): distance \(back) reaches before the start (\(output.count) bytes out)")
            }
            try reserve(length)
            // Byte by byte: a copy may overlap what it writes (distance < length repeats a pattern).
            var from = output.count - back
            for _ in 0 ..< length {
                output.append(output[from])
                from += 1
            }
        }
    }

    /// Refuses output beyond `maxOutput`.
    private func reserve(_ n: Int) throws {
        guard n <= maxOutput - output.count else {
            throw FixtureError("byte \(reader.position): output exceeds the expected \(maxOutput) bytes")
        }
    }
}

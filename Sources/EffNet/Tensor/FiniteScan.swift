/// Whether float32 values are all finite, at memory speed: a value is NaN or infinite exactly
/// when its exponent bits are all ones, and adding one to a full exponent carries into the sign
/// bit, so one OR over 16 lanes at a time collects the answer (no branch per value).
enum FiniteScan {
    static func allFinite(_ values: UnsafeBufferPointer<Float>) -> Bool {
        guard let base = values.baseAddress else { return true }
        let raw = UnsafeRawPointer(base), n = values.count
        let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000), carry = SIMD16<UInt32>(repeating: 0x0080_0000)
        var seen = SIMD16<UInt32>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<UInt32>.self)
            seen |= (bits & exponent) &+ carry
            i += 16
        }
        var tail: UInt32 = 0
        while i < n {
            tail |= (raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self) & 0x7F80_0000) &+ 0x0080_0000
            i += 1
        }
        for lane in 0 ..< 16 { tail |= seen[lane] }
        return tail & 0x8000_0000 == 0
    }
}

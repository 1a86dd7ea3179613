/// A typed, possibly strided view of stored bytes: how readers hand out tensors without copying.
/// Validated on creation: the view's every element lies inside its storage.
public struct RawTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// Strides in elements.
    public let strides: [Int]
    /// Offset of element [0,...,0] in elements from the start of `storage`.
    public let offset: Int
    public let storage: ByteStorage
    /// True when the storage holds big-endian numbers (legacy torch archives may).
    public let bigEndian: Bool

    /// Creates a view after checking that it stays inside `storage`.
    /// - Throws: `RawTensorError` when a dimension is negative, arithmetic overflows, or the view
    ///   reaches outside the storage.
    public init(dtype: DType, shape: [Int], strides: [Int]? = nil, offset: Int = 0,
                storage: ByteStorage, bigEndian: Bool = false) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw RawTensorError.invalidShape(shape) }
        let st = strides ?? RawTensor.contiguousStrides(shape)
        guard st.count == shape.count, st.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw RawTensorError.invalidStrides(shape: shape, strides: st)
        }
        guard let count = CheckedSize.product(shape) else { throw RawTensorError.overflow(shape) }
        let storageElements = storage.bytes.count / dtype.size
        if count > 0 {
            // Highest element index the view touches.
            var last = offset
            for (d, s) in zip(shape, st) {
                guard let span = CheckedSize.multiply(d - 1, s), let n = CheckedSize.add(last, span) else {
                    throw RawTensorError.overflow(shape)
                }
                last = n
            }
            guard last < storageElements else {
                throw RawTensorError.exceedsStorage(shape: shape, strides: st, offset: offset, storageElements: storageElements)
            }
        }
        self.dtype = dtype
        self.shape = shape
        self.strides = st
        self.offset = offset
        self.storage = storage
        self.bigEndian = bigEndian
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc = acc &* max(shape[i], 1)
        }
        return strides
    }

    public var isContiguous: Bool {
        count <= 1 || strides == RawTensor.contiguousStrides(shape).enumerated().map { shape[$0.offset] == 1 ? strides[$0.offset] : $0.element }
    }

    /// The bytes of a contiguous little-endian view without copying, else nil.
    public var contiguousBytes: UnsafeRawBufferPointer? {
        guard isContiguous, !bigEndian else { return nil }
        let start = offset * dtype.size
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start ..< start + byteCount])
    }

    /// The CRC-32 of `contiguousBytes` when the container declares it: the view covers its whole
    /// storage and the storage carries its CRC (`ByteStorage.crc32`).
    public var contiguousCRC32: UInt32? {
        guard let crc = storage.crc32, offset == 0, byteCount == storage.bytes.count,
              contiguousBytes != nil else { return nil }
        return crc
    }

    /// Element `i` (flat index into the storage) widened to Double.
    @inline(__always)
    func element(at i: Int) -> Double {
        let b = storage.bytes
        let o = i * dtype.size
        func load<T: FixedWidthInteger>(_ t: T.Type) -> T {
            let v = b.loadUnaligned(fromByteOffset: o, as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch dtype {
        case .f32: return Double(Float(bitPattern: load(UInt32.self)))
        case .f64: return Double(bitPattern: load(UInt64.self))
        case .f16: return Double(HalfConversion.float(fromHalf: load(UInt16.self)))
        case .bf16: return Double(HalfConversion.float(fromBFloat16: load(UInt16.self)))
        case .i64: return Double(load(Int64.self))
        case .i32: return Double(load(Int32.self))
        case .i16: return Double(load(Int16.self))
        case .i8: return Double(Int8(bitPattern: b[o]))
        case .u8: return Double(b[o])
        case .bool: return b[o] != 0 ? 1 : 0
        }
    }

    /// All elements in row-major order, widened/narrowed to Float32 (one copy).
    public func floats() -> [Float] {
        let n = count
        if n == 0 { return [] }
        if dtype == .f32, let bytes = contiguousBytes {
            return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: bytes)
                initialized = n
            }
        }
        var out = [Float]()
        out.reserveCapacity(n)
        forEachStorageIndex { out.append(Float(element(at: $0))) }
        return out
    }

    /// All elements as Int64 (for integer tensors such as shapes).
    public func int64s() -> [Int64] {
        var out = [Int64]()
        out.reserveCapacity(count)
        forEachStorageIndex { i in
            switch dtype {
            case .i64:
                let v = storage.bytes.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
                out.append(bigEndian ? Int64(bigEndian: v) : Int64(littleEndian: v))
            default: out.append(Int64(element(at: i)))
            }
        }
        return out
    }

    public func tensor() -> Tensor { Tensor(shape: shape, scalars: floats()) }

    /// Calls `body` with each element's storage index in row-major order of the view.
    func forEachStorageIndex(_ body: (Int) -> Void) {
        let n = count
        if n == 0 { return }
        let rank = shape.count
        if rank == 0 { body(offset); return }
        var idx = [Int](repeating: 0, count: rank)
        var pos = offset
        for _ in 0 ..< n {
            body(pos)
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                pos += strides[d]
                if idx[d] < shape[d] { break }
                pos -= strides[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }
}

public enum RawTensorError: Error, Equatable, CustomStringConvertible {
    case invalidShape([Int])
    case invalidStrides(shape: [Int], strides: [Int])
    case overflow([Int])
    case exceedsStorage(shape: [Int], strides: [Int], offset: Int, storageElements: Int)

    public var description: String {
        switch self {
        case let .invalidShape(s): return "invalid shape \(s)"
        case let .invalidStrides(shape, strides): return "invalid strides \(strides) for shape \(shape)"
        case let .overflow(s): return "shape \(s) overflows"
        case let .exceedsStorage(shape, strides, offset, n):
            return "view (shape \(shape), strides \(strides), offset \(offset)) exceeds its storage of \(n) elements"
        }
    }
}

extension RawTensor {
    /// `allFinite` of each tensor, on all cores unless `parallel` is false (for a scan that runs
    /// beside other work and should not take its core).
    public static func allFinite(_ tensors: [RawTensor], parallel: Bool = true) -> [Bool] {
        guard parallel else { return tensors.map(\.allFinite) }
        var results = [Bool](repeating: true, count: tensors.count)
        guard !tensors.isEmpty else { return results }  // Parallel.forEach(0) still runs part 0
        results.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let out = slots  // each iteration writes its own slot
            Parallel.forEach(tensors.count) { out[$0] = tensors[$0].allFinite }
        }
        return results
    }

    /// True when no element is NaN or infinite (integers always are). Reads the view in place.
    public var allFinite: Bool {
        guard dtype.isFloatingPoint else { return true }
        if dtype == .f32, let bytes = contiguousBytes {
            // Inf or NaN <=> exponent all ones <=> |bits| >= 0x7f800000 <=> |bits| + 0x00800000
            // carries into bit 31. AND, ADD and OR per sixteen lanes (plain SIMD, unlike the
            // generic pointwiseMax, which does not inline), bit 31 tested once at the end.
            // loadUnaligned because file offsets need not be aligned.
            let magnitude = SIMD16<UInt32>(repeating: 0x7fff_ffff)
            let bump = SIMD16<UInt32>(repeating: 0x0080_0000)
            var carries = SIMD16<UInt32>(repeating: 0)
            let n = bytes.count / 4
            var i = 0
            while i + 16 <= n {
                let v = bytes.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                carries |= (v & magnitude) &+ bump
                i += 16
            }
            if (carries & SIMD16(repeating: 0x8000_0000)).max() != 0 { return false }
            while i < n {
                if bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7f80_0000 == 0x7f80_0000 { return false }
                i += 1
            }
            return true
        }
        var finite = true
        forEachStorageIndex { i in if finite && !element(at: i).isFinite { finite = false } }
        return finite
    }
}

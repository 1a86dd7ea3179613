import EffNet

extension TorchArchiveWriter {
    /// Items per SETITEMS batch (pickle's BATCHSIZE): a batch of one is a SETITEM.
    static let pickleBatchSize = 1000

    /// `data.pkl`: the state dict as torch.save's pickler writes it at its default protocol 2.
    /// The only globals are the ones `torch.load(weights_only=True)` allows:
    /// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and the storage classes
    /// (`torch.FloatStorage`, ...). Each tensor is
    ///
    ///     _rebuild_tensor_v2(persistent_id(('storage', torch.<T>Storage, '<i>', 'cpu', numel)),
    ///                        0, shape, contiguous strides, False, OrderedDict())
    ///
    /// with tensor i in storage `data/<i>`. The memo follows the Python objects torch pickles:
    /// one `'storage'` string, one `'cpu'` location, each global once; every key, storage key and
    /// non-empty tuple is a new object (`PickleWriter`).
    static func dataPickle(_ tensors: [Tensor]) -> [UInt8] {
        var w = PickleWriter()
        w.global("collections", "OrderedDict")
        w.tuple(count: 0) { _ in }
        w.reduce()
        var start = 0
        while start < tensors.count {
            let end = min(start + pickleBatchSize, tensors.count)
            let batch = end - start
            if batch > 1 { w.op(.mark) }
            for i in start ..< end { item(tensors[i], storageKey: i, into: &w) }
            w.op(batch > 1 ? .setitems : .setitem)
            start = end
        }
        w.stop()
        return w.bytes
    }

    /// One `key, tensor` pair.
    private static func item(_ t: Tensor, storageKey: Int, into w: inout PickleWriter) {
        let count = t.shape.reduce(1, *)   // validated: no overflow
        w.string(t.name)
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.tuple(count: 6) { w in
            w.tuple(count: 5) { w in
                w.string("storage", identity: "storage")
                w.global("torch", t.dtype.torchStorageClass)
                w.string(String(storageKey))
                w.string("cpu", identity: "cpu")
                w.int(count)
            }
            w.op(.binpersid)
            w.int(0)                      // storage offset
            w.intTuple(t.shape)
            // C order; a dimension of size 0 counts as 1, as in torch: zeros(2, 0, 3).stride() == (3, 3, 1)
            w.intTuple(RawTensor.contiguousStrides(t.shape))
            w.bool(false)                 // requires_grad
            // backward hooks: a new empty OrderedDict
            w.global("collections", "OrderedDict")
            w.tuple(count: 0) { _ in }
            w.reduce()
        }
        w.reduce()
    }
}

extension DType {
    /// The legacy storage class torch pickles for this element type at protocol 2
    /// (`FloatStorage` for float32, ...): the reader's table (`PickleGlobal.storageTypes`) read
    /// backwards, so the two cannot disagree.
    public var torchStorageClass: String {
        DType.storageClasses[self] ?? "UntypedStorage"
    }

    private static let storageClasses: [DType: String] = PickleGlobal.storageTypes
        .reduce(into: [:]) { map, entry in
            if let dtype = entry.value.0, map[dtype] == nil { map[dtype] = entry.key }
        }
}

"""Checks a Swift-written PyTorch archive with Python's own zipfile and pickle, no torch needed.

Usage: python check-torch-pickle.py ARCHIVE.pth EXPECTED.npz

The archive must be what torch.save writes and torch.load(weights_only=True) reads
(Sources/EffNetTorch/TorchArchiveWriter.swift):
  - zip entries, in torch's order: <a>/data.pkl, .format_version ("1"), .storage_alignment
    ("64"), byteorder ("little"), data/0..N-1, version ("3\\n"), .data/serialization_id
    (40 digits); all STORED, every CRC-32 right (zipfile checks on read), every entry's data at
    a multiple of 64 bytes in the file;
  - data.pkl: pickle protocol 2, no opcode beyond protocol 2, unpickled by a pickle.Unpickler
    whose find_class allows ONLY collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
    torch.<Type>Storage (stubs here that record the calls) and whose persistent_load takes only
    ('storage', <storage stub>, key, 'cpu', numel) with data/<key> holding numel elements;
  - the result: an OrderedDict whose keys, in order, are EXPECTED.npz's arrays, each tensor
    contiguous, at storage offset 0, requires_grad False, with no backward hooks, and with the
    npz array's dtype, shape and bytes. Each tensor has its own storage.
Prints 'N passed, M failed' and exits 1 on any failure. Needs numpy only.
"""
import collections
import io
import pickle
import pickletools
import struct
import sys
import zipfile

import numpy as np

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


# The storage classes torch pickles at protocol 2, and numpy's name for their elements.
STORAGES = {
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2", "LongStorage": "<i8",
    "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?", "BFloat16Storage": "<u2",  # numpy has no bfloat16: compared as bits
}


class StorageType:
    """Stands in for torch.<Name>Storage: only a name."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGES[name])


class Storage:
    def __init__(self, storage_type, key, data):
        self.type = storage_type
        self.key = key
        self.data = data


class Tensor:
    def __init__(self, array, storage, offset, size, stride, requires_grad, hooks):
        self.array = array
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride
        self.requires_grad = requires_grad
        self.hooks = hooks


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    """torch._utils._rebuild_tensor_v2, recorded: the view must be the whole storage, C order."""
    array = np.frombuffer(storage.data, dtype=storage.type.dtype).reshape(size)
    return Tensor(array, storage, storage_offset, tuple(size), tuple(stride), requires_grad, backward_hooks)


class Restricted(pickle.Unpickler):
    def __init__(self, data, archive, prefix):
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.prefix = prefix
        self.globals_seen = []

    def find_class(self, module, name):
        self.globals_seen.append(f"{module}.{name}")
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor_v2
        if module == "torch" and name in STORAGES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str)
                and pid[3] == "cpu" and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _, numel = pid
        data = self.archive.read(f"{self.prefix}/data/{key}")
        if len(data) != numel * storage_type.dtype.itemsize:
            raise pickle.UnpicklingError(f"data/{key}: {len(data)} bytes for {numel} x {storage_type.name}")
        return Storage(storage_type, key, data)


def contiguous_strides(size):
    strides, step = [], 1
    for d in reversed(size):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


def local_data_offset(raw, header_offset):
    """Where an entry's data starts: after its LOCAL header's name and extra field."""
    signature, = struct.unpack_from("<I", raw, header_offset)
    name_length, extra_length = struct.unpack_from("<HH", raw, header_offset + 26)
    assert signature == 0x04034B50, f"no local header at {header_offset}"
    return header_offset + 30 + name_length + extra_length


def main():
    archive_path, expected_path = sys.argv[1], sys.argv[2]
    expected = np.load(expected_path)
    names = list(expected.files)
    with open(archive_path, "rb") as f:
        raw = f.read()
    with zipfile.ZipFile(archive_path) as z:
        infos = z.infolist()
        prefix = infos[0].filename.split("/")[0]
        order = (["data.pkl", ".format_version", ".storage_alignment", "byteorder"]
                 + [f"data/{i}" for i in range(len(names))] + ["version", ".data/serialization_id"])
        check([i.filename for i in infos] == [f"{prefix}/{n}" for n in order],
              f"entries {[i.filename for i in infos]}")
        for info in infos:
            check(info.compress_type == zipfile.ZIP_STORED, f"{info.filename} is stored")
            check(local_data_offset(raw, info.header_offset) % 64 == 0, f"{info.filename} data 64-byte aligned")
            z.read(info)  # raises BadZipFile on a wrong CRC-32
        check(z.read(f"{prefix}/.format_version") == b"1", ".format_version")
        check(z.read(f"{prefix}/.storage_alignment") == b"64", ".storage_alignment")
        check(z.read(f"{prefix}/byteorder") == b"little", "byteorder")
        check(z.read(f"{prefix}/version") == b"3\n", "version")
        sid = z.read(f"{prefix}/.data/serialization_id")
        check(len(sid) == 40 and sid.isdigit(), f"serialization_id {sid!r}")

        data = z.read(f"{prefix}/data.pkl")
        check(data[:2] == b"\x80\x02", "pickle protocol 2")
        ops = {op.name for op, _, _ in pickletools.genops(data)}
        check(all(pickletools.opcodes[[o.name for o in pickletools.opcodes].index(n)].proto <= 2 for n in ops),
              f"opcodes within protocol 2: {sorted(ops)}")
        unpickler = Restricted(data, z, prefix)
        try:
            state = unpickler.load()
        except pickle.UnpicklingError as e:
            check(False, f"data.pkl: {e}")
            print(f"{passed} passed, {failed} failed ({archive_path})")
            sys.exit(1)
        check(set(unpickler.globals_seen) <= {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2"}
              | {f"torch.{s}" for s in STORAGES}, f"globals {sorted(set(unpickler.globals_seen))}")

    check(type(state) is collections.OrderedDict, f"an OrderedDict, not {type(state).__name__}")
    check(list(state) == names, f"keys in order: {list(state)[:5]}... vs {names[:5]}...")
    keys = set()
    for name in names:
        t = state.get(name)
        if not isinstance(t, Tensor):
            check(False, f"{name}: not a tensor")
            continue
        want = expected[name]
        check(t.array.dtype == want.dtype.newbyteorder("<") or t.array.dtype == want.dtype, f"{name}: dtype {t.array.dtype} vs {want.dtype}")
        check(t.size == want.shape, f"{name}: shape {t.size} vs {want.shape}")
        check(t.stride == contiguous_strides(t.size), f"{name}: stride {t.stride}")
        check(t.offset == 0 and t.requires_grad is False, f"{name}: offset {t.offset}, requires_grad {t.requires_grad}")
        check(type(t.hooks) is collections.OrderedDict and not t.hooks, f"{name}: backward hooks")
        check(t.array.tobytes() == np.ascontiguousarray(want).tobytes(), f"{name}: bytes")
        check(t.storage.key not in keys, f"{name}: storage {t.storage.key} shared")
        keys.add(t.storage.key)

    print(f"{passed} passed, {failed} failed ({archive_path}: {len(names)} tensors)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the hand-made hostile files of Fixtures/hostile/ for Tests/HostileInputTests.

Run with the torch venv (never needed by CI; the small outputs are committed):

    python Fixtures/generate_hostile.py

Each file is malicious or broken in one named way (manifest.json says how, and what a reader
must say about it). Files that need a real framework's bytes start from real torch.save / h5py /
onnx output; the damage is then done by hand (pickle opcodes, zip headers, HDF5 bytes).

The code-execution payloads are live: this script loads each one with Python's own unpickler
(torch.load(weights_only=False)) and checks that the marker file appears, so the tests prove a
refusal of something that really would have run. The markers are removed afterwards.
"""
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import h5py
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hostile")
MARKER = "/tmp/effnetkit_hostile_pwned_"
manifest = {}


def out(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def record(rel, **info):
    manifest[rel] = info


# MARK: torch archives by hand (torch's layout, our bytes)

def tiny_state_dict():
    torch.manual_seed(7)
    return collections.OrderedDict(
        [("conv.weight", torch.randn(2, 3, 3, 3)), ("conv.bias", torch.randn(2)), ("fc.weight", torch.randn(4, 2))])


def torch_zip(path, pickle_bytes, storages, prefix="archive"):
    """A zip in torch.save's layout: data.pkl, byteorder, data/<key>, version (stored)."""
    def put(z, name, data):  # fixed timestamps: regenerating gives the same bytes
        z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        put(z, prefix + "/data.pkl", pickle_bytes)
        put(z, prefix + "/byteorder", "little")
        for key, data in storages.items():
            put(z, prefix + "/data/" + key, data)
        put(z, prefix + "/version", "3\n")


def legacy_file(path, object_pickle, keys, data_section):
    """torch's legacy format: magic, protocol, sys_info, the object pickle, the storage key list,
    then for each key an int64 element count and the bytes."""
    magic = 0x1950A86A20F9469CFC6C
    sys_info = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))
    with open(path, "wb") as f:
        for v in (magic, 1001, sys_info):
            f.write(pickle.dumps(v, protocol=2))
        f.write(object_pickle)
        f.write(pickle.dumps(keys, protocol=2))
        f.write(data_section)


class StorageRef:
    """Stands for a storage; the pickler below writes it as torch's persistent id tuple."""

    def __init__(self, key, numel, storage_type=torch.FloatStorage, legacy=False):
        self.key, self.numel, self.storage_type, self.legacy = key, numel, storage_type, legacy


class RebuildTensor:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, {})
    with whatever offset, size and stride it is given."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Call:
    """Pickles as fn(*args): how a hostile checkpoint runs code when Python unpickles it."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            if obj.legacy:  # ('storage', type, key, location, numel, view_metadata)
                return ("storage", obj.storage_type, obj.key, "cpu", obj.numel, None)
            return ("storage", obj.storage_type, obj.key, "cpu", obj.numel)
        return None


def torch_pickle(obj):
    b = io.BytesIO()
    TorchPickler(b, protocol=2).dump(obj)
    return b.getvalue()


def float_bytes(n, value=0.5):
    return struct.pack("<%df" % n, *([value] * n))


# MARK: 1. code execution payloads

PAYLOADS = {
    # name: (global the file names, callable, args). os.system is written by hand as "os system"
    # (Python itself writes it as posix.system on Linux, which is the next one).
    "os_system": ("os.system", os.system, ("touch " + MARKER + "os_system",)),
    "posix_system": ("posix.system", os.system, ("touch " + MARKER + "posix_system",)),
    "subprocess_popen": ("subprocess.Popen", subprocess.Popen, (["touch", MARKER + "subprocess_popen"],)),
    "subprocess_check_output": ("subprocess.check_output", subprocess.check_output,
                                (["touch", MARKER + "subprocess_check_output"],)),
    "builtins_eval": ("builtins.eval", eval, ("open('" + MARKER + "builtins_eval', 'w').close()",)),
}


def payload_pickle(name, legacy):
    glob, fn, args = PAYLOADS[name]
    sd = tiny_state_dict()
    storages = {}
    tensors = collections.OrderedDict()
    for i, (k, t) in enumerate(sd.items()):
        ref = StorageRef(str(i), t.numel(), legacy=legacy)
        tensors[k] = RebuildTensor(ref, 0, t.shape, t.stride())
        storages[str(i)] = t.numpy().astype("<f4").tobytes()
    # The payload sits beside the state dict, as a training script's 'args' would.
    obj = {"epoch": 3, "args": Call(fn, args), "state_dict": tensors}
    p = torch_pickle(obj)
    if name == "os_system":
        assert b"cposix\nsystem\n" in p
        p = p.replace(b"cposix\nsystem\n", b"cos\nsystem\n")
    return p, storages


def check_live(path):
    """Loads the file the way an unsafe loader would and reports whether the marker appeared."""
    import glob as g
    for m in g.glob(MARKER + "*"):
        os.remove(m)
    try:
        torch.load(path, weights_only=False)
    except Exception:
        pass
    time.sleep(0.5)  # subprocess.Popen does not wait for its child
    found = g.glob(MARKER + "*")
    for m in found:
        os.remove(m)
    return found


def payload_fixtures():
    for name, (glob, _, _) in PAYLOADS.items():
        marker = MARKER + name
        for container in ("zip", "legacy"):
            rel = "pickle/%s_%s.pt" % (container, name)
            p, storages = payload_pickle(name, legacy=container == "legacy")
            if container == "zip":
                torch_zip(out(rel), p, storages)
            else:
                keys = list(storages)
                data = b"".join(struct.pack("<q", len(storages[k]) // 4) + storages[k] for k in keys)
                legacy_file(out(rel), p, keys, data)
            live = check_live(out(rel))
            assert live == [marker], (rel, live)
            record(rel, kind="payload", container=container, global_=glob, marker=marker,
                   expect="refused naming %s; %s never created" % (glob, marker))


# MARK: 2. huge declared lengths and counts in pickles

def pickle_length_fixtures():
    cases = {
        # BINUNICODE8 declaring 2^62 bytes, then three.
        "binunicode8_huge": b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abc.",
        # BINBYTES8 declaring 2^63 - 1 bytes.
        "binbytes8_huge": b"\x80\x04\x8e" + struct.pack("<Q", (1 << 63) - 1) + b"abc.",
        # LONG4 declaring 2^31 - 1 bytes of integer.
        "long4_huge": b"\x80\x02\x8b" + struct.pack("<i", (1 << 31) - 1) + b"\x01.",
        # FRAME declaring 2^62 bytes.
        "frame_huge": b"\x80\x04\x95" + struct.pack("<Q", 1 << 62) + b"}.",
        # SHORT_BINUNICODE / BINUNICODE running past the end.
        "binunicode_past_end": b"\x80\x02X" + struct.pack("<I", 1 << 20) + b"short.",
        # A memo reference far beyond anything stored.
        "memo_get_huge": b"\x80\x02j" + struct.pack("<I", 0xFFFFFFF0) + b".",
    }
    for name, p in cases.items():
        rel = "pickle/zip_%s.pt" % name
        torch_zip(out(rel), p, {})
        record(rel, kind="pickle-length", expect="refused naming data.pkl and the offset; nothing allocated")


# MARK: 3. tensor views outside their storage; storage counts beyond the file

def view_fixtures():
    numel = 10
    cases = {
        "view_size": (0, (4, 4), (4, 1)),              # needs 16 elements, storage has 10
        "view_stride": (0, (2, 3), (9, 1)),            # last element at 11
        "view_offset": (9, (2,), (1,)),                 # offset 9 + 1 = element 10
        "view_offset_huge": (1 << 62, (1,), (1,)),
        "view_stride_huge": (0, (2, 2), (1 << 62, 1)),
        "view_size_overflow": (0, (1 << 32, 1 << 32, 16), (1, 1, 1)),
        "view_negative_size": (0, (-1, 4), (4, 1)),
        "view_negative_stride": (4, (2, 2), (-2, 1)),
    }
    for name, (offset, size, stride) in cases.items():
        for container in ("zip", "legacy"):
            if container == "legacy" and name not in ("view_size", "view_offset_huge"):
                continue
            rel = "torch/%s_%s.pt" % (container, name)
            legacy = container == "legacy"
            ref = StorageRef("0", numel, legacy=legacy)
            obj = collections.OrderedDict([("ok.weight", RebuildTensor(StorageRef("1", 2, legacy=legacy), 0, (2,), (1,))),
                                           ("bad.weight", RebuildTensor(ref, offset, size, stride))])
            p = torch_pickle(obj)
            if container == "zip":
                torch_zip(out(rel), p, {"0": float_bytes(numel), "1": float_bytes(2)})
            else:
                data = struct.pack("<q", 2) + float_bytes(2) + struct.pack("<q", numel) + float_bytes(numel)
                legacy_file(out(rel), p, ["1", "0"], data)
            record(rel, kind="view", tensor="bad.weight", expect="refused naming bad.weight (shape/stride/offset vs storage)")

    # Legacy data sections that lie.
    def legacy_counts(rel, pickled_numel, data_count, payload, note):
        obj = collections.OrderedDict([("w", RebuildTensor(StorageRef("0", pickled_numel, legacy=True), 0, (1,), (1,)))])
        legacy_file(out(rel), torch_pickle(obj), ["0"], struct.pack("<q", data_count) + payload)
        record(rel, kind="legacy-count", expect=note)

    legacy_counts("torch/legacy_count_beyond_file.pt", 1 << 40, 1 << 40, float_bytes(4),
                  "2^40 elements declared by pickle and data section, 16 bytes present: refused, nothing allocated")
    legacy_counts("torch/legacy_count_mismatch.pt", 4, 5, float_bytes(5), "data section count differs from the pickle's")
    legacy_counts("torch/legacy_count_negative.pt", 4, -1, float_bytes(4), "negative element count")
    legacy_counts("torch/legacy_numel_overflow.pt", 1 << 62, 1 << 62, float_bytes(4),
                  "2^62 float elements: byte count overflows")


# MARK: 4. zip structures that lie

def zip_bytes(entries, comment=b"", zip64_eocd=False, eocd_overrides=None):
    """A zip from entries = [dict(name, data, method, crc, csize, usize, zip64)] where csize/usize
    are what the headers declare (not necessarily the truth)."""
    body = b""
    central = b""
    for e in entries:
        name = e["name"].encode()
        offset = len(body)
        extra = b""
        csize32, usize32, off32 = e["csize"], e["usize"], offset
        if e.get("zip64"):
            extra = struct.pack("<HHQQ", 1, 16, e["usize"], e["csize"])
            csize32 = usize32 = 0xFFFFFFFF
        flags = e.get("flags", 0)
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if e.get("zip64") else 20, flags, e["method"], 0, 0x21,
                            e["crc"], csize32, usize32, len(name), len(extra)) + name + extra
        body += local + e["data"]
        cextra = extra
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if e.get("zip64") else 20, flags, e["method"], 0,
                               0x21, e["crc"], csize32, usize32, len(name), len(cextra), 0, 0, 0, 0, off32) + name + cextra
    cd_offset = len(body)
    n = len(entries)
    fields = dict(disk=0, cd_disk=0, n_disk=n, n=n, cd_size=len(central), cd_offset=cd_offset)
    fields.update(eocd_overrides or {})
    tail = b""
    if zip64_eocd:
        z64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, fields["n_disk"], fields["n"],
                          fields["cd_size"], fields["cd_offset"])
        loc = struct.pack("<IIQI", 0x07064B50, 0, cd_offset + len(central) + fields.get("z64_shift", 0), 1)
        tail = z64 + loc
        fields.update(n_disk=0xFFFF, n=0xFFFF, cd_size=0xFFFFFFFF, cd_offset=0xFFFFFFFF)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, fields["disk"], fields["cd_disk"], fields["n_disk"] & 0xFFFF,
                       fields["n"] & 0xFFFF, fields["cd_size"] & 0xFFFFFFFF, fields["cd_offset"] & 0xFFFFFFFF,
                       len(comment)) + comment
    return body + central + tail + eocd


def entry(name, data, method=0, usize=None, csize=None, crc=None, zip64=False, raw=None):
    """raw: the bytes stored (compressed data for method 8); data: the uncompressed truth."""
    stored = raw if raw is not None else data
    return dict(name=name, data=stored, method=method, crc=zlib.crc32(data) if crc is None else crc,
                csize=len(stored) if csize is None else csize, usize=len(data) if usize is None else usize,
                zip64=zip64)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zip_fixtures():
    sd_pickle = torch_pickle(collections.OrderedDict(
        [("w", RebuildTensor(StorageRef("0", 16), 0, (4, 4), (4, 1)))]))
    good = [entry("archive/data.pkl", sd_pickle), entry("archive/byteorder", b"little")]
    storage = float_bytes(16)
    zeros = b"\0" * (8 << 20)
    packed = deflate(zeros)

    def write(rel, entries, note, **kw):
        with open(out(rel), "wb") as f:
            f.write(zip_bytes(entries, **kw))
        record(rel, kind="zip", expect=note)

    # Bomb 1: the storage entry declares 2^40 uncompressed bytes (ZIP64) for ~8 KB of deflate.
    write("zip/bomb_declared_huge.pt", good + [entry("archive/data/0", zeros, method=8, raw=packed, usize=1 << 40, zip64=True)],
          "deflated entry declares 2^40 bytes: refused before inflating (ratio/size limit)")
    # Bomb 2: data.pkl declares 3 GiB (32-bit field) for the same small stream.
    write("zip/bomb_pickle_declared_huge.pt", [entry("archive/data.pkl", zeros, method=8, raw=packed, usize=3 << 30),
                                               entry("archive/byteorder", b"little")],
          "data.pkl declares 3 GiB: refused before inflating")
    # Bomb 3: the declared size lies low: 64 bytes declared, 8 MiB inside the stream.
    write("zip/bomb_declared_low.pt", good + [entry("archive/data/0", storage, method=8, raw=packed, usize=64,
                                                     crc=zlib.crc32(storage))],
          "stream holds 8 MiB, 64 bytes declared: inflation stops at 64 bytes, refused")
    # ZIP64 sizes beyond the file.
    write("zip/zip64_size_beyond_file.pt", good + [entry("archive/data/0", storage, csize=1 << 62, usize=1 << 62, zip64=True)],
          "ZIP64 sizes of 2^62 in a tiny file: refused naming the entry")
    write("zip/zip64_eocd_counts_huge.pt", good + [entry("archive/data/0", storage)],
          "ZIP64 end record declares 2^60 entries: refused", zip64_eocd=True, eocd_overrides=dict(n=1 << 60, n_disk=1 << 60))
    write("zip/zip64_locator_beyond_file.pt", good + [entry("archive/data/0", storage)],
          "ZIP64 locator points past the end of the file", zip64_eocd=True, eocd_overrides=dict(z64_shift=1 << 40))
    write("zip/cd_offset_beyond_file.pt", good + [entry("archive/data/0", storage)],
          "central directory offset past the end of the file", eocd_overrides=dict(cd_offset=0x7FFFFFF0))
    write("zip/cd_count_lies.pt", good + [entry("archive/data/0", storage)],
          "end record says 65535 entries, directory holds 3", eocd_overrides=dict(n=0xFFFF, n_disk=0xFFFF))
    write("zip/storage_crc_wrong.pt", good + [entry("archive/data/0", storage, crc=0xDEADBEEF)],
          "storage CRC-32 does not match: refused naming the entry")
    write("zip/storage_size_wrong.pt", good + [entry("archive/data/0", float_bytes(15))],
          "storage entry holds 60 bytes, the pickle declares 16 floats")
    write("zip/method_unsupported.pt", good + [dict(entry("archive/data/0", storage), method=14)],
          "compression method 14 (LZMA) refused naming the entry")
    write("zip/encrypted_entry.pt", good + [dict(entry("archive/data/0", storage), flags=1)],
          "encrypted storage entry refused naming the entry")
    # .keras: a real archive's metadata and config, its model.weights.h5 declared 2^40 bytes.
    with zipfile.ZipFile(os.path.join(HERE, "keras", "k3_plain64.keras")) as real:
        meta, config = real.read("metadata.json"), real.read("config.json")
    write("zip/keras_bomb.keras", [entry("metadata.json", meta), entry("config.json", config, method=8, raw=deflate(config)),
                                   entry("model.weights.h5", zeros, method=8, raw=packed, usize=1 << 40, zip64=True)],
          ".keras whose model.weights.h5 declares 2^40 bytes: refused before inflating")


# MARK: 4b. Faults of issue 16: overlapping entries, broken .keras archives, wrong argument types

def fault_fixtures():
    storage = float_bytes(16)

    def write(rel, data, note, kind="fault"):
        with open(out(rel), "wb") as f:
            f.write(data)
        record(rel, kind=kind, expect=note)

    # Nested overlap: entry archive/data/0's stored bytes contain the local header and data of
    # archive/data/1, and the central directory lists both (the "overlapping" zip bomb shape;
    # CPython's zipfile refuses it since 3.12).
    sd_pickle = torch_pickle(collections.OrderedDict(
        [("w", RebuildTensor(StorageRef("0", 16), 0, (4, 4), (4, 1))),
         ("v", RebuildTensor(StorageRef("1", 16), 0, (4, 4), (4, 1)))]))
    inner_name = b"archive/data/1"
    inner = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(storage), len(storage), len(storage),
                        len(inner_name), 0) + inner_name + storage
    outer = inner + storage
    entries = [entry("archive/data.pkl", sd_pickle), entry("archive/byteorder", b"little"),
               entry("archive/data/0", outer)]
    blob = zip_bytes(entries)
    # Rebuild the central directory by hand with a 4th entry pointing inside data/0.
    body_end = blob.index(struct.pack("<I", 0x02014B50))
    body = blob[:body_end]
    central = b""
    offset = 0
    offsets = []
    for e in entries:
        offsets.append(offset)
        offset += 30 + len(e["name"]) + len(e["data"])
    inner_offset = offsets[2] + 30 + len("archive/data/0")
    listed = [(e["name"].encode(), e["crc"], len(e["data"]), off) for e, off in zip(entries, offsets)]
    listed.append((inner_name, zlib.crc32(storage), len(storage), inner_offset))
    for name, crc, size, off in listed:
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, size, size,
                               len(name), 0, 0, 0, 0, 0, off) + name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(listed), len(listed), len(central), len(body), 0)
    write("zip/overlap_nested.pt", body + central + eocd,
          "archive/data/1's local header and data lie inside archive/data/0: refused as overlapping entries")

    with zipfile.ZipFile(os.path.join(HERE, "keras", "k3_plain64.keras")) as real:
        meta, config = real.read("metadata.json"), real.read("config.json")
    # Each is refused before the weights are read: a few placeholder bytes stand for them.
    weights = b"\x89HDF\r\n\x1a\n" + b"\0" * 56
    config_entry = entry("config.json", config, method=8, raw=deflate(config))
    write("keras/no_weights_entry.keras", zip_bytes([entry("metadata.json", meta), config_entry]),
          ".keras without model.weights.h5: a Keras message naming the missing entry (not 'not a PyTorch archive')")
    write("keras/weights_dotdot.keras",
          zip_bytes([entry("metadata.json", meta), config_entry, entry("../model.weights.h5", weights)]),
          ".keras whose weights entry is '../model.weights.h5': a Keras message naming that entry")
    nested = b"[" * 100000 + b"]" * 100000
    write("keras/config_nested.keras",
          zip_bytes([entry("metadata.json", meta), entry("config.json", nested, method=8, raw=deflate(nested)),
                     entry("model.weights.h5", weights)]),
          ".keras whose config.json nests 100,000 levels: refused as nested too deeply")
    big = b'{"padding": "' + b" " * (200 << 20) + b'"}'
    write("keras/config_200mb.keras",
          zip_bytes([entry("metadata.json", meta), entry("config.json", big, method=8, raw=deflate(big)),
                     entry("model.weights.h5", weights)]),
          ".keras whose config.json inflates to 200 MB: refused by the config size limit before inflating")
    zeros = b"\0" * (8 << 20)
    write("keras/weights_7gb.keras",
          zip_bytes([entry("metadata.json", meta), config_entry,
                     entry("model.weights.h5", zeros, method=8, raw=deflate(zeros), usize=7 << 30, zip64=True)]),
          ".keras whose model.weights.h5 declares 7 GiB: refused by the weights size limit before libhdf5")

    class RebuildRequiresGrad(RebuildTensor):
        def __init__(self, requires_grad):
            super().__init__(StorageRef("0", 16), 0, (4, 4), (4, 1))
            self.args = self.args[:4] + (requires_grad,) + self.args[5:]

    torch_zip(out("torch/requires_grad_string.pt"),
              torch_pickle(collections.OrderedDict([("w", RebuildRequiresGrad("yes"))])), {"0": storage})
    record("torch/requires_grad_string.pt", kind="fault",
           expect="_rebuild_tensor_v2 with requires_grad='yes' (torch accepts only a bool): refused naming the call")


# MARK: 5. ONNX external data escaping the model's folder

def onnx_fixtures():
    def model(location, offset=None, length=None, dims=(2, 2)):
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=list(dims))
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, str(v)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))
        g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], initializer=[t])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="effnetkit-hostile")
        m.ir_version = 8
        return m.SerializeToString()

    cases = {
        "escape_dotdot": ("../outside.bin", "location climbs out of the model's folder"),
        "escape_nested_dotdot": ("sub/../../outside.bin", "location climbs out through a subfolder"),
        "escape_absolute": ("/etc/hostname", "absolute location"),
        "escape_symlink": ("link.bin", "location is a symbolic link the test points outside the folder"),
        "escape_symlink_dir": ("sub/outside.bin", "location goes through a folder link the test points at the parent"),
        "escape_nul": ("weights.bin\0../../etc/hostname", "location with a NUL byte"),
        "external_missing": ("missing.bin", "external file does not exist"),
        "external_offset_huge": ("weights.bin", "offset 2^62 past the end"),
        "external_length_huge": ("weights.bin", "length 2^62 past the end"),
    }
    for name, (loc, note) in cases.items():
        rel = "onnx/%s/model.onnx" % name
        kw = {}
        if name == "external_offset_huge":
            kw = dict(offset=1 << 62, length=16)
        if name == "external_length_huge":
            kw = dict(offset=0, length=1 << 62)
        with open(out(rel), "wb") as f:
            f.write(model(loc, **kw))
        if "weights.bin" in loc:
            with open(out("onnx", name, "weights.bin"), "wb") as f:
                f.write(float_bytes(4))
        record(rel, kind="onnx-external", location=loc, expect=note)
    # Dimensions whose product overflows, raw data of 16 bytes.
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 40, 1 << 40], raw_data=b"\0" * 16)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])], initializer=[t])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with open(out("onnx/dims_overflow.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    record("onnx/dims_overflow.onnx", kind="onnx", expect="initializer dims overflow: refused naming w")


# MARK: 6. damaged HDF5

def hdf5_fixtures():
    """tf.keras 2 `save_weights` layout: root attributes layer_names/backend/keras_version, one
    group per layer with weight_names, datasets at <layer>/<weight name>."""
    def keras_weights(path, kernel_shape=None, link=False):
        with h5py.File(path, "w", libver="earliest") as f:
            f.attrs["layer_names"] = np.array([b"dense"])
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = b"2.15.0"
            g = f.create_group("dense")
            if link:
                g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
                g["dense"] = h5py.ExternalLink("/etc/hostname", "/x")
                return
            g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
            if kernel_shape is None:
                g.create_dataset("dense/kernel:0", data=np.arange(12, dtype="<f4").reshape(3, 4))
            else:  # chunked and never written: the file stays small whatever the shape says
                g.create_dataset("dense/kernel:0", shape=kernel_shape, dtype="<f4", chunks=(1, 1024))
            g.create_dataset("dense/bias:0", data=np.zeros(4, dtype="<f4"))

    base = out("hdf5/keras_like.h5")
    keras_weights(base)
    record("hdf5/keras_like.h5", kind="hdf5", expect="valid weights-only Keras file the tests damage (truncate, flip)")
    keras_weights(out("hdf5/huge_dims.h5"), kernel_shape=(1 << 21, 1 << 21))
    record("hdf5/huge_dims.h5", kind="hdf5", expect="dataset declares 2^42 floats: refused before reading")
    keras_weights(out("hdf5/external_link.h5"), link=True)
    record("hdf5/external_link.h5", kind="hdf5", expect="external link out of the file: not followed")
    # Datasets whose bytes live in another file: external raw storage and a virtual dataset.
    # libhdf5 opens those files itself when the dataset is read, so a reader that does not
    # check the layout copies another file's bytes into the weights. The tests create the
    # secrets at these paths before running the tools.
    secret = "/tmp/effnetkit_hostile_secret"
    with h5py.File(out("hdf5/external_storage.h5"), "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.attrs["keras_version"] = b"2.15.0"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", shape=(3, 4), dtype="<f4", external=[(secret + ".bin", 0, 48)])
    record("hdf5/external_storage.h5", kind="hdf5", secret=secret + ".bin",
           expect="dataset stored in an external file: refused, the other file is never read")
    with h5py.File(out("hdf5/secret_source.h5"), "w", libver=("earliest", "v110")) as f:
        f["data"] = np.full((3, 4), 42.0, dtype="<f4")
    record("hdf5/secret_source.h5", kind="hdf5-helper", expect="the 'other file' the virtual dataset maps (tests copy it to the secret path)")
    layout = h5py.VirtualLayout(shape=(3, 4), dtype="<f4")
    layout[:] = h5py.VirtualSource(secret + ".h5", "data", shape=(3, 4))
    with h5py.File(out("hdf5/virtual_dataset.h5"), "w", libver=("earliest", "v110")) as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.attrs["keras_version"] = b"2.15.0"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_group("dense").create_virtual_dataset("kernel:0", layout, fillvalue=0)
    record("hdf5/virtual_dataset.h5", kind="hdf5", secret=secret + ".h5",
           expect="virtual dataset mapping another file: refused, the other file is never read")

    # Crash libhdf5 1.10.8: layer_names as variable-length strings (stored in a global heap),
    # then the heap object's size field set to 2^60 + ...: H5HG_read memcpys that many bytes
    # (the fuzzers' keras target found this; this is the small hand-made equivalent).
    vlen = out("hdf5/crash_vlen_heap_size.h5")
    with h5py.File(vlen, "w", libver="earliest") as f:
        f.attrs.create("layer_names", ["dense"], dtype=h5py.string_dtype())
        f.attrs["keras_version"] = b"2.15.0"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", data=np.zeros((3, 4), dtype="<f4"))
    clean = bytes(open(vlen, "rb").read())
    at = clean.find(b"GCOL")
    assert at > 0 and clean.find(b"GCOL", at + 1) < 0
    assert struct.unpack_from("<H", clean, at + 16)[0] == 1  # heap object 1
    b = bytearray(clean)
    struct.pack_into("<Q", b, at + 24, 0x10FFFFFFFFFFFFFF)
    open(vlen, "wb").write(b)
    record("hdf5/crash_vlen_heap_size.h5", kind="hdf5-crash",
           expect="libhdf5 1.10.8 segfaults reading layer_names (H5HG_read); contained: exit 2")
    # Hang libhdf5 1.10.8: object size 2^64 - 16, so header + aligned size wraps to 0 and the
    # heap collection's parsing loop never advances (the keras fuzz target found such hangs).
    b = bytearray(clean)
    struct.pack_into("<Q", b, at + 24, 0xFFFFFFFFFFFFFFF0)
    open(out("hdf5/hang_vlen_heap_loop.h5"), "wb").write(b)
    record("hdf5/hang_vlen_heap_loop.h5", kind="hdf5-hang",
           expect="libhdf5 1.10.8 loops forever parsing the global heap; contained: killed, exit 2")

    raw = bytes(open(base, "rb").read())
    # Version 0 superblock: end-of-file address at 40, root object header address at 64.
    for rel, offset, value, note in (
            ("hdf5/superblock_eof_huge.h5", 40, 1 << 60, "superblock end-of-file address 2^60"),
            ("hdf5/root_address_huge.h5", 64, 0xFFFFFFFFFFFFFF00, "root object header address past the end")):
        b = bytearray(raw)
        struct.pack_into("<Q", b, offset, value)
        open(out(rel), "wb").write(b)
        record(rel, kind="hdf5", expect=note)


# MARK: 7. NaN/Inf weights, missing keys and shape mismatches in a real family's checkpoint

def family_fixtures():
    src = os.path.join(HERE, "torch", "seed", "weights_fp16.pth")
    sd = torch.load(src)
    nonfinite = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
    nonfinite["blocks.0.features.0.weight"].view(-1)[3] = float("nan")
    nonfinite["head.6.weight"].view(-1)[0] = float("inf")
    torch.save(nonfinite, out("family/nonfinite_seed.pth"))
    record("family/nonfinite_seed.pth", kind="nonfinite",
           tensors=["blocks.0.features.0.weight", "head.6.weight"],
           expect="refused naming both tensors unless --allow-nonfinite")
    broken = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
    missing = ["stem.1.running_var", "head.6.bias"]
    for k in missing:
        del broken[k]
    reshaped = {"stem.1.weight": (7,), "blocks.0.features.0.weight": (3, 1, 3, 3)}
    for k, shape in reshaped.items():
        broken[k] = torch.zeros(shape, dtype=torch.float16)
    torch.save(broken, out("family/mismatch_seed.pth"))
    record("family/mismatch_seed.pth", kind="mismatch", missing=missing,
           mismatched={k: [list(sd[k].shape), list(s)] for k, s in reshaped.items()},
           expect="every missing key and every mismatch (with both shapes) in one error")


# MARK: 8. small valid seeds for the fuzzers

def seeds():
    def safetensors(path, tensors, metadata=None):
        header, data = {}, b""
        if metadata is not None:
            header["__metadata__"] = metadata
        for name, (dtype, shape, payload) in tensors.items():
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
            data += payload
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)

    a, b = float_bytes(6, 1.5), struct.pack("<4e", 1, 2, 3, 4)
    safetensors(out("seeds/tiny.safetensors"), {"a": ("F32", [2, 3], a), "b": ("F16", [4], b)})
    crcs = json.dumps({"a": "%08x" % zlib.crc32(a), "b": "%08x" % zlib.crc32(b)})
    safetensors(out("seeds/tiny.effw"), {"a": ("F32", [2, 3], a), "b": ("F16", [4], b)},
                {"effw.version": "1", "effw.crc32": crcs, "effw.config": "{}"})
    p = torch_pickle(collections.OrderedDict([("w", RebuildTensor(StorageRef("0", 4), 0, (2, 2), (2, 1)))]))
    open(out("seeds/tiny_data.pkl"), "wb").write(p)
    for k in ("seeds/tiny.safetensors", "seeds/tiny.effw", "seeds/tiny_data.pkl"):
        record(k, kind="seed", expect="valid; a fuzzing seed")


# Files the fuzzers found (scripts/fuzz.sh), minimized and committed by hand: not generated
# here, only recorded. Never delete them when regenerating.
FUZZ_FINDINGS = {
    "hdf5/crash_fuzz_keras_h5hg_read.h5": dict(
        kind="hdf5-crash",
        expect="found by scripts/fuzz.sh keras (from tfk_plain_weights.h5, minimized by libFuzzer): libhdf5 1.10.8 "
               "segfaults in H5HG_read reading a vlen attribute; contained: exit 2"),
    "hdf5/crash_fuzz_hdf5_h5mm_xfree.h5": dict(
        kind="hdf5-crash",
        expect='found by scripts/fuzz.sh hdf5 (2026-11-29 run): libhdf5 1.10.8 frees a wild pointer in H5MM_xfree while the hdf5 target walks every attribute (SEGV under ASan); the tools stop earlier with an HDF5 error; either way exit 2'),
    "hdf5/crash_fuzz_hdf5_attr_overflow.h5": dict(
        kind="hdf5-crash",
        expect='found by scripts/fuzz.sh hdf5 (2026-11-29 run): heap-buffer-overflow (memcpy) in libhdf5 1.10.8 decoding an attribute message (H5O__msg_iterate_real / H5A__compact_build_table), seen under ASan; the tools give an HDF5 error; exit 2'),
    "hdf5/hang_fuzz_hdf5_h5c_protect.h5": dict(
        kind="hdf5-hang",
        expect='found by scripts/fuzz.sh hdf5 (2026-11-29 run): libhdf5 1.10.8 never returns (looping under H5C_protect); contained: killed after 8 s, exit 2'),
    "onnx/fuzz_graph_cycle.onnx": dict(
        kind="onnx-graph",
        expect='found by scripts/fuzz.sh source (2026-12-07 run, mutated from an export): a block convolution reads a later '
               "block's output, so the graph loops back; the walk followed the loop forever (1 GB and growing after 10 "
               "minutes); refused naming the node, exit 2 (effnet-inspect reports it as the mapping problem)"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for rel, info in FUZZ_FINDINGS.items():
        assert os.path.exists(out(rel)), "fuzz finding %s is missing (restore it from git)" % rel
        record(rel, **info)
    payload_fixtures()
    pickle_length_fixtures()
    view_fixtures()
    zip_fixtures()
    fault_fixtures()
    onnx_fixtures()
    hdf5_fixtures()
    family_fixtures()
    seeds()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print("wrote %d files, %d bytes" % (len(manifest), total))


if __name__ == "__main__":
    sys.exit(main())

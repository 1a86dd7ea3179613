#!/usr/bin/env python3
"""Writes the PyTorch archive fixtures for Tests/EffNetTorchTests and Tests/EffNetZipTests.

Run with the torch venv (never needed by CI; outputs are committed):

    python Fixtures/generate_torch_archives.py

Every archive is written by real torch.save (or, for the malformed/hostile ones, by Python's
pickle and zipfile in torch's layout), and expected.json holds torch.load's own view of each
file: tensor names, dtypes, shapes, strides and exact values, wrapper keys, prefixes.
"""
import argparse
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_archives")
# Commands in the hostile pickles would create these files if anything ever ran them.
PWNED = "/tmp/effnetkit_torch_pwned_"

torch.manual_seed(1234)


def tiny_model():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


def basic_state_dict():
    """An nn.Module state dict (OrderedDict with _metadata, num_batches_tracked) plus tensors of
    every dtype and non-contiguous views that share one storage."""
    m = tiny_model()
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
        m[1].num_batches_tracked.fill_(7)
    sd = m.state_dict()  # OrderedDict with _metadata
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    sd["extra.f16"] = (torch.randn(2, 3) * 10).half()
    sd["extra.bf16"] = (torch.randn(5) * 3).bfloat16()
    sd["extra.f64"] = torch.randn(2, 2, dtype=torch.float64) / 3
    sd["extra.i64"] = torch.tensor([[-3, 2**40], [7, -(2**62)]], dtype=torch.int64)
    sd["extra.base"] = base
    sd["extra.transposed"] = base.t()  # strides (1, 4), same storage
    sd["extra.rows"] = base[1:3]  # storage offset 4, same storage
    sd["extra.column"] = base[:, 2]  # offset 2, stride 4
    sd["extra.scalar"] = torch.tensor(2.5)
    sd["extra.empty"] = torch.zeros(0, 3)
    return sd


def flat_values(t):
    return t.flatten().tolist() if t.dtype == torch.int64 else t.double().flatten().tolist()


def expected_for(sd, prefix=""):
    """Tensors as the Swift reader must hand them out: prefix stripped, num_batches_tracked
    skipped, values from torch itself."""
    tensors, skipped = [], []
    for k, v in sd.items():
        name = k[len(prefix):]
        if name.endswith("num_batches_tracked"):
            skipped.append(name)
            continue
        tensors.append({
            "name": name,
            "dtype": str(v.dtype).replace("torch.", ""),
            "shape": list(v.shape),
            "strides": list(v.stride()),
            "offset": v.storage_offset(),
            "values": flat_values(v),
        })
    return {"tensors": tensors, "skipped": skipped}


def save(obj, name, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    return path


def rezip_deflated(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)


def rezip_big_endian(src, dst, sd):
    """torch.save has no byte-order option; rewrite a little-endian archive the way a big-endian
    host writes it: byteorder 'big' and every storage's elements byte-swapped. Storage keys are
    numbered in the order the pickler first meets each storage, i.e. state-dict order. torch.load
    of the result (which byte-swaps big-endian archives) is checked against the original below."""
    sizes = {}
    for t in sd.values():
        cdata = t.untyped_storage()._cdata
        if cdata not in sizes:
            sizes[cdata] = t.element_size()
    elem = {str(i): size for i, size in enumerate(sizes.values())}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        names = zin.namelist()
        prefix = names[0].split("/")[0]
        for n in names:
            data = zin.read(n)
            if n == prefix + "/byteorder":
                data = b"big"
            elif n.startswith(prefix + "/data/"):
                size = elem[n.split("/")[-1]]
                if size > 1:
                    data = np.frombuffer(data, dtype=f"<u{size}").byteswap().tobytes()
            zout.writestr(n, data)


class Reduce:
    """An object whose pickle calls fn(*args): how a hostile checkpoint runs code."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def torch_like_zip(path, pickle_bytes, storages=None):
    """A zip in torch's layout holding a hand-made data.pkl."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", b"little")
        for key, data in (storages or {}).items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", b"3\n")


def hostile_fixtures(expected):
    import subprocess
    import builtins

    cases = {
        "hostile_os_system.pt": (os.system, ("touch " + PWNED + "os_system",)),
        "hostile_subprocess.pt": (subprocess.Popen, (["touch", PWNED + "subprocess"],)),
        "hostile_eval.pt": (builtins.eval, ("open('" + PWNED + "eval', 'w')",)),
    }
    for name, (fn, args) in cases.items():
        # Hidden inside an otherwise ordinary training checkpoint's 'args' entry.
        payload = {"state_dict": {"w": 1}, "args": Reduce(fn, args)}
        data = pickle.dumps(payload, protocol=2)
        torch_like_zip(os.path.join(OUT, name), data)
        expected[name] = {"error_global": f"{fn.__module__}.{fn.__qualname__}",
                          "pwned_file": PWNED + name.split("_", 1)[1].split(".")[0]}

    # A tensor whose view (1000 elements) exceeds its 4-element storage.
    class FakeStorage:
        pass

    storage = FakeStorage()

    class TensorLike:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, (storage, 0, (1000,), (1,), False, collections.OrderedDict()))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is storage:
                return ("storage", torch.FloatStorage, "0", "cpu", 4)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(collections.OrderedDict([("w", TensorLike())]))
    torch_like_zip(os.path.join(OUT, "view_exceeds_storage.pt"), buf.getvalue(), {"0": struct.pack("<4f", 1, 2, 3, 4)})
    try:
        torch.load(os.path.join(OUT, "view_exceeds_storage.pt"))
        raise SystemExit("torch accepted view_exceeds_storage.pt")
    except RuntimeError:
        pass  # torch refuses it too
    expected["view_exceeds_storage.pt"] = {"error_tensor": "w"}


def zip_fixtures(expected):
    """Plain zips for the ZipArchive tests, written by Python's zipfile."""
    payload = bytes(range(256)) * 40 + b"tail"
    text = b"EfficientNet " * 300
    with zipfile.ZipFile(os.path.join(OUT, "plain_stored.zip"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("a/payload.bin", payload)
        z.writestr("a/empty.txt", b"")
        z.writestr("text.txt", text)
        z.comment = b"a comment of the archive"
    with zipfile.ZipFile(os.path.join(OUT, "plain_deflated.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/payload.bin", payload)
        z.writestr("a/empty.txt", b"")
        z.writestr("text.txt", text)
    with zipfile.ZipFile(os.path.join(OUT, "plain_zip64.zip"), "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for n, d in [("a/payload.bin", payload), ("text.txt", text)]:
            with z.open(n, "w", force_zip64=True) as f:
                f.write(d)
    import warnings
    import zlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate, which is the point
        with zipfile.ZipFile(os.path.join(OUT, "duplicate_names.zip"), "w") as z:
            z.writestr("x.bin", b"first")
            z.writestr("x.bin", b"second")
    handmade_zip64(os.path.join(OUT, "handmade_zip64.zip"), [("stored.bin", payload, 0), ("deflated.txt", text, 8)])
    with zipfile.ZipFile(os.path.join(OUT, "handmade_zip64.zip")) as z:
        assert z.read("stored.bin") == payload and z.read("deflated.txt") == text
    expected["zips"] = {
        "entries": {
            "a/payload.bin": {"size": len(payload), "crc32": zlib.crc32(payload)},
            "a/empty.txt": {"size": 0, "crc32": 0},
            "text.txt": {"size": len(text), "crc32": zlib.crc32(text)},
        },
        "comment": "a comment of the archive",
    }


def handmade_zip64(path, files):
    """A zip whose central directory saturates every size and offset and carries them in ZIP64
    extra fields, with ZIP64 end records: the layout of archives over 4 GB, in a few bytes.
    Local headers carry a 64-byte padding extra field (as torch's do) so the data offset must
    come from the local header."""
    import zlib
    out = bytearray()
    central = bytearray()
    for name, data, method in files:
        comp = data if method == 0 else zlib.compress(data, 9)[2:-4]  # raw deflate
        crc = zlib.crc32(data)
        offset = len(out)
        n = name.encode()
        pad = b"FB" + struct.pack("<H", 60) + b"Z" * 60
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, crc, len(comp), len(data), len(n), len(pad))
        out += n + pad + comp
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(comp), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(n), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += n + extra
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(files), len(files), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def legacy_data_offset(path):
    """Where the legacy format's storage data section starts (after the five pickles)."""
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, sys_info
            pickle.Unpickler(f).load()
        _SkipUnpickler(f).load()  # the object
        pickle.Unpickler(f).load()  # storage keys
        return f.tell()


class _SkipUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return None

    def find_class(self, module, name):
        return _Anything


class _Anything(dict):
    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    expected = {}

    sd = basic_state_dict()
    basic = expected_for(sd)
    basic["metadata"] = True
    for name, kw in [
        ("basic_zip.pt", {}),
        ("basic_legacy.pt", {"_use_new_zipfile_serialization": False}),
        ("basic_proto4.pt", {"pickle_protocol": 4}),
        ("basic_proto5.pt", {"pickle_protocol": 5}),
        ("basic_legacy_proto4.pt", {"_use_new_zipfile_serialization": False, "pickle_protocol": 4}),
    ]:
        save(sd, name, **kw)
        expected[name] = dict(basic, wrapper=None, prefix=None)
    expected["basic_legacy.pt"]["legacy_data_offset"] = legacy_data_offset(os.path.join(OUT, "basic_legacy.pt"))

    # torch >= 2.6 can skip CRC-32s: every record then declares CRC 0, and torch.load reads it.
    torch.serialization.set_crc32_options(False)
    try:
        save(sd, "basic_nocrc.pt")
    finally:
        torch.serialization.set_crc32_options(True)
    with zipfile.ZipFile(os.path.join(OUT, "basic_nocrc.pt")) as z:
        assert all(i.CRC == 0 for i in z.infolist()), "set_crc32_options(False) wrote CRCs"
    expected["basic_nocrc.pt"] = dict(basic, wrapper=None, prefix=None)

    rezip_deflated(os.path.join(OUT, "basic_zip.pt"), os.path.join(OUT, "basic_deflated.pt"))
    expected["basic_deflated.pt"] = dict(basic, wrapper=None, prefix=None)

    rezip_big_endian(os.path.join(OUT, "basic_zip.pt"), os.path.join(OUT, "basic_bigendian.pt"), sd)
    expected["basic_bigendian.pt"] = dict(basic, wrapper=None, prefix=None)

    # A training checkpoint: DataParallel prefix, optimizer state, argparse args, numpy scalar.
    m = tiny_model()
    dp = nn.DataParallel(m)
    opt = torch.optim.SGD(dp.parameters(), lr=0.1, momentum=0.9)
    dp.train()
    loss = dp(torch.randn(2, 3, 3, 3)).sum()
    loss.backward()
    opt.step()
    dp.eval()
    dp_sd = dp.state_dict()
    ckpt = {
        "epoch": 3,
        "arch": "tiny",
        "state_dict": dp_sd,
        "best_acc1": torch.tensor(0.5),
        "best_acc5": np.float64(0.75),
        "optimizer": opt.state_dict(),
        "args": argparse.Namespace(lr=0.1, arch="tiny", data="/data/imagenet", epochs=90),
    }
    siblings = ["epoch", "arch", "best_acc1", "best_acc5", "optimizer", "args"]
    for name, kw in [("training_zip.pt", {}), ("training_legacy.pt", {"_use_new_zipfile_serialization": False})]:
        save(ckpt, name, **kw)
        expected[name] = dict(expected_for(dp_sd, "module."), wrapper="state_dict", prefix="module.", siblings=siblings)

    # EMA wrappers: the plain weights are preferred; EMA when asked or when alone.
    sd_a = tiny_model().state_dict()
    sd_b = tiny_model().state_dict()
    save({"state_dict": sd_a, "state_dict_ema": sd_b, "epoch": 9}, "ema_both.pt")
    expected["ema_both.pt"] = dict(expected_for(sd_a), wrapper="state_dict", prefix=None, siblings=["state_dict_ema", "epoch"])
    expected["ema_both.pt#state_dict_ema"] = dict(expected_for(sd_b), wrapper="state_dict_ema", prefix=None)
    save({"model_ema": sd_b, "epoch": 9}, "ema_only.pt")
    expected["ema_only.pt"] = dict(expected_for(sd_b), wrapper="model_ema", prefix=None, siblings=["epoch"])
    save({"model": sd_a, "optimizer": None}, "model_wrapper.pt")
    expected["model_wrapper.pt"] = dict(expected_for(sd_a), wrapper="model", prefix=None, siblings=["optimizer"])

    # torch.compile's _orig_mod. prefix, under DataParallel's module. prefix.
    compiled = torch.compile(tiny_model())
    csd = compiled.state_dict()
    assert all(k.startswith("_orig_mod.") for k in csd), list(csd)
    save(csd, "compiled_zip.pt")
    expected["compiled_zip.pt"] = dict(expected_for(csd, "_orig_mod."), wrapper=None, prefix="_orig_mod.")
    both = collections.OrderedDict(("module." + k, v) for k, v in csd.items())
    save(both, "dp_compiled_legacy.pt", _use_new_zipfile_serialization=False)
    expected["dp_compiled_legacy.pt"] = dict(expected_for(both, "module._orig_mod."), wrapper=None, prefix="module._orig_mod.")

    # Every rebuild path: nn.Parameter (_rebuild_parameter), a tensor with a Python attribute
    # (_rebuild_from_type_v2), a bool tensor, and a uint16 tensor (_rebuild_tensor_v3 over an
    # UntypedStorage) beside the state dict, where it must be skipped without complaint.
    attr = torch.randn(2, 3)
    attr.note = "kept by torch as tensor state"
    variants = collections.OrderedDict([
        ("param", nn.Parameter(torch.randn(2, 2))),
        ("attr", attr),
        ("flag", torch.tensor([True, False, True])),
        ("plain", torch.randn(3, dtype=torch.float64)),
    ])
    # (torch 2.x cannot load a legacy file holding uint16, so the legacy one has a float extra.)
    for name, kw, extra in [
        ("rebuild_variants.pt", {}, torch.tensor([1, 2, 60000], dtype=torch.uint16)),
        ("rebuild_variants_legacy.pt", {"_use_new_zipfile_serialization": False}, torch.ones(2)),
    ]:
        save({"state_dict": variants, "extra": {"u16": extra}}, name, **kw)
        exp = expected_for(variants)
        for t in exp["tensors"]:
            if t["dtype"] == "bool":
                t["values"] = [1.0 if v else 0.0 for v in t["values"]]
        expected[name] = dict(exp, wrapper="state_dict", prefix=None, siblings=["extra"])
    save({"u16": torch.tensor([1, 2, 60000], dtype=torch.uint16)}, "unsupported_dtype.pt")
    expected["unsupported_dtype.pt"] = {"error_tensor": "u16", "dtype": "uint16"}

    # A whole pickled module (torch.save(model)): refused, never executed.
    save(nn.Linear(2, 2), "pickled_module.pt")
    save({"model": nn.Linear(2, 2), "epoch": 1}, "pickled_module_wrapped.pt")
    save(nn.Linear(2, 2), "pickled_module_legacy.pt", _use_new_zipfile_serialization=False)
    expected["pickled_module.pt"] = {"error_class": "torch.nn.modules.linear.Linear"}

    hostile_fixtures(expected)
    zip_fixtures(expected)

    # Cross-check: torch.load of every generated torch archive agrees with the expectations.
    for name, exp in expected.items():
        if "#" in name or "tensors" not in exp:
            continue
        obj = torch.load(os.path.join(OUT, name), weights_only=False)
        if exp.get("wrapper"):
            obj = obj[exp["wrapper"]]
        got = [k for k in obj if not k.endswith("num_batches_tracked")]
        want = [(exp["prefix"] or "") + t["name"] for t in exp["tensors"]]
        assert got == want, (name, got, want)
        for t in exp["tensors"]:
            v = obj[(exp["prefix"] or "") + t["name"]]
            got_values = [float(x) for x in flat_values(v)] if v.dtype == torch.bool else flat_values(v)
            assert got_values == t["values"], (name, t["name"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()

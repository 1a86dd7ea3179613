"""Python's safetensors reads .effw files written by the Swift tools.

Usage: python test_effw_interop.py BIN_DIR

For every .effw fixture written by Python (Fixtures/core/*.effw, made by
Fixtures/generate_core.py through safetensors), the Swift `effnet-convert` re-writes it as F32
and as F16. This script then loads the Swift-written files with `safetensors` and checks:
  - every tensor is there with the same dtype-converted values (F32: bit-exact; F16: equal to
    numpy's own float16 rounding of the original),
  - the metadata carries version, the same config, CRC-32s equal to zlib.crc32 of the bytes,
  - the data buffer starts 64-byte aligned.
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


def as_float32(value):
    """The config holds Float32 numbers: compare them as float32, whatever digits wrote them."""
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, list):
        return [as_float32(v) for v in value]
    if isinstance(value, dict):
        return {k: as_float32(v) for k, v in value.items()}
    return value


def main(bin_dir):
    sources = sorted(glob.glob(os.path.join(ROOT, "Fixtures", "core", "*.effw")))
    check(len(sources) > 0, "there are .effw fixtures in Fixtures/core")
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            original = load_file(src)
            with safe_open(src, framework="np") as f:
                original_config = json.loads(f.metadata()["effw.config"])
            for dtype in ("f32", "f16"):
                out = os.path.join(tmp, f"{os.path.basename(src)}.{dtype}.effw")
                r = subprocess.run([os.path.join(bin_dir, "effnet-convert"), src, out, "--dtype", dtype, "--quiet"],
                                   capture_output=True, text=True)
                check(r.returncode == 0, f"effnet-convert {src} --dtype {dtype}: exit {r.returncode}: {r.stderr.strip()}")
                if r.returncode != 0:
                    continue
                written = load_file(out)
                check(sorted(written) == sorted(original), f"{out}: same tensor names")
                for name, ref in original.items():
                    got = written.get(name)
                    if got is None:
                        continue
                    want = ref.astype(np.float32) if dtype == "f32" else ref.astype(np.float16)
                    check(got.dtype == want.dtype and got.shape == want.shape, f"{out}:{name} dtype/shape {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
                    check(np.array_equal(got.view(np.uint8), want.view(np.uint8)), f"{out}:{name} values")
                with safe_open(out, framework="np") as f:
                    meta = f.metadata()
                check(meta.get("effw.version") == "1", f"{out}: effw.version")
                check(as_float32(json.loads(meta["effw.config"])) == as_float32(original_config), f"{out}: same config")
                crcs = json.loads(meta["effw.crc32"])
                for name, arr in written.items():
                    check(crcs.get(name) == f"{zlib.crc32(arr.tobytes()) & 0xffffffff:08x}", f"{out}:{name} crc32")
                with open(out, "rb") as fh:
                    (n,) = struct.unpack("<Q", fh.read(8))
                check((8 + n) % 64 == 0, f"{out}: data buffer 64-byte aligned (header {n})")
    print(f"python interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

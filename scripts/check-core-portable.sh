#!/usr/bin/env bash
# EffNet, the library apps import, needs no system library: builds Examples/UsesEffNet (a
# separate package that depends on the EffNet product alone), runs it on a committed .effw, and
# fails if the binary links any of the C libraries the readers use. Then the same for the core's
# tests (EffNetTests), by their dependency closure and the symbols their objects call (below).
set -euo pipefail
cd "$(dirname "$0")/.."
example=Examples/UsesEffNet

echo "== a separate package depending on EffNet alone"
set +e
swift build --package-path "$example" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Build)'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "Examples/UsesEffNet failed to build (exit $status)"; exit "$status"; }
bin="$(swift build --package-path "$example" --show-bin-path)/uses-effnet"

"$bin"
"$bin" Fixtures/core/tv_b0_w050_d050.effw Fixtures/core/input_1x3x57x71.npy

if command -v ldd >/dev/null; then
  linked=$(ldd "$bin" | grep -E 'lib(z|deflate|hdf5|protobuf-c|jpeg|png[0-9]*)\.so' || true)
  if [ -n "$linked" ]; then
    echo "uses-effnet links system libraries EffNet must not need:"
    echo "$linked"
    exit 1
  fi
  echo "uses-effnet links no zlib, libdeflate, libhdf5, protobuf-c, libjpeg or libpng"
fi

# The core's own tests need no system library either (the CRC-32 oracle and the fixture
# inflater are in Tests/EffNetTests). On Linux every test target is linked into one test binary,
# so ldd cannot single EffNetTests out; instead: the manifest gives EffNetTests no system-library
# target (nor another package) in its dependency closure, the target builds on that closure
# alone, and none of the closure's object files calls zlib, libdeflate, libhdf5, protobuf-c,
# libjpeg or libpng.
echo "== EffNetTests: no system library in its closure"
closure=$(swift package describe --type json | python3 -c '
import json, sys
targets = {t["name"]: t for t in json.load(sys.stdin)["targets"]}
seen, todo = [], ["EffNetTests"]
while todo:
    name = todo.pop()
    if name in seen:
        continue
    seen.append(name)
    t = targets[name]
    if t.get("type") == "system-target" or t.get("module_type") == "SystemLibraryTarget":
        sys.exit(f"EffNetTests depends on the system library {name}")
    others = t.get("product_dependencies")
    if others:
        sys.exit(f"EffNetTests depends on other packages through {name}: {others}")
    todo += t.get("target_dependencies", [])
print(" ".join(sorted(seen)))
')
echo "closure: $closure"
set +e
swift build -c release --target EffNetTests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Build)'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "EffNetTests failed to build on its closure (exit $status)"; exit "$status"; }
objects=()
for target in $closure; do objects+=(.build/release/"$target".build/*.o); done
calls=$(nm -u "${objects[@]}" 2>/dev/null | awk '{print $NF}' \
  | grep -E '^(inflate|deflate|crc32|adler32|z_|gz|zlib|libdeflate_|H5|png_|jpeg_|protobuf_c_)' | sort -u || true)
if [ -n "$calls" ]; then
  echo "EffNetTests or its closure calls system-library functions:"
  echo "$calls"
  exit 1
fi
echo "EffNetTests and its closure (${#objects[@]} object files) call no system-library function"

#!/usr/bin/env bash
# Regenerates Sources/TFCheckpointProto (protoc-c output) from Schemas/tensor_bundle.proto.
# Needs Debian's protobuf-c-compiler (protoc-c). The output is committed byte for byte and never
# hand-edited: change the schema and run this script instead.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/Sources/TFCheckpointProto"
command -v protoc-c >/dev/null || { echo "error: protoc-c not found (apt-get install protobuf-c-compiler)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
protoc-c --proto_path="$root/Schemas" --c_out="$tmp" "$root/Schemas/tensor_bundle.proto"

mkdir -p "$out/include"
cp "$tmp/tensor_bundle.pb-c.c" "$out/tensor_bundle.pb-c.c"
cp "$tmp/tensor_bundle.pb-c.h" "$out/include/tensor_bundle.pb-c.h"
echo "regenerated $out/tensor_bundle.pb-c.c and $out/include/tensor_bundle.pb-c.h ($(protoc-c --version | head -1))"

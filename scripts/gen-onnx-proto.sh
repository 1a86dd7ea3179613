#!/usr/bin/env bash
# Regenerates Sources/ONNXProto (protoc-c output) from Schemas/onnx.proto.
# Needs Debian's protobuf-c-compiler (protoc-c). The output is committed byte for byte and never
# hand-edited: change the schema and run this script instead.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/Sources/ONNXProto"
command -v protoc-c >/dev/null || { echo "error: protoc-c not found (apt-get install protobuf-c-compiler)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
protoc-c --proto_path="$root/Schemas" --c_out="$tmp" "$root/Schemas/onnx.proto"

mkdir -p "$out/include"
rm -f "$out/placeholder.c" "$out/include/placeholder.h"
cp "$tmp/onnx.pb-c.c" "$out/onnx.pb-c.c"
cp "$tmp/onnx.pb-c.h" "$out/include/onnx.pb-c.h"
echo "regenerated $out/onnx.pb-c.c and $out/include/onnx.pb-c.h ($(protoc-c --version | head -1))"

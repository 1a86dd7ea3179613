#!/usr/bin/env bash
# Installs the Debian packages EffNetKit builds against, when any is missing. Safe to re-run.
# Used by scripts/demo.sh and scripts/test.sh (the two README commands) and so by CI.
set -euo pipefail

PACKAGES=(
  pkg-config
  zlib1g-dev            # CZlib: inflate, crc32_combine
  libhdf5-dev           # CHDF5: Keras .h5
  libprotobuf-c-dev     # CProtobufC: ONNX
  protobuf-c-compiler   # protoc-c, only to regenerate Sources/ONNXProto
  libjpeg62-turbo-dev   # CJPEG: effnet-predict on JPEG
  libpng-dev            # CPNG: effnet-predict on PNG
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

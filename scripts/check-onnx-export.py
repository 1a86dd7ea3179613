#!/usr/bin/env python3
"""Runs ONNX models exported by EffNetKit (ONNXExport) in ONNX Runtime and compares each with
the output the Swift tests recorded beside it: the model's own float64 forward pass for random
models, or the source framework's own output (PyTorch, Keras) for the converted fixtures.

    python scripts/check-onnx-export.py FOLDER      # FOLDER/<case>/{model.onnx,input.npy,expected.npy,case.json}

The Swift tests write FOLDER when EFFNET_ONNX_EXPORT_OUT names it (scripts/check-onnx-export.sh
does both). Measure: max|a - b| / max(1, max|expected|) <= the case's tolerance (1e-4), compared as
log probabilities where the output ends in a softmax. With the onnx package installed, every model
also passes onnx.checker.check_model(full_check=True) (strict shape inference included).
Needs numpy and onnxruntime (onnx optional). Exit 0 all pass, 1 a mismatch, 2 nothing to check.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort

try:
    import onnx
except ImportError:  # the checker is extra; ONNX Runtime is the test
    onnx = None


def relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / max(1.0, float(np.max(np.abs(expected)))))


def check(case_dir):
    facts = json.load(open(os.path.join(case_dir, "case.json")))
    path = os.path.join(case_dir, "model.onnx")
    x = np.load(os.path.join(case_dir, "input.npy"))
    expected = np.load(os.path.join(case_dir, "expected.npy")).astype(np.float64)
    if onnx is not None:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    (got,) = session.run(None, {feed: x})
    got = got.astype(np.float64)
    if got.shape != expected.shape:
        return False, f"output shape {got.shape}, expected {expected.shape}"
    # The batch axis is dynamic: the last sample alone gives the same row.
    (alone,) = session.run(None, {feed: x[-1:]})
    if alone.shape != expected[-1:].shape or relative_error(alone.astype(np.float64), got[-1:]) > 1e-6:
        return False, f"batch of one gives {alone.shape}, differing from the batch's last row"
    if facts.get("compare") == "log":
        got, expected = np.log(np.maximum(got, 1e-30)), np.log(np.maximum(expected, 1e-30))
    err = relative_error(got, expected)
    top1 = float(np.mean(np.argmax(got, -1) == np.argmax(expected, -1)))
    ok = err <= facts["tolerance"] and top1 == 1.0
    return ok, f"relative error {err:.2e} (tolerance {facts['tolerance']:.0e}), top-1 agreement {top1:.2f}, vs {facts['reference']}"


def main():
    if len(sys.argv) != 2:
        print("usage: check-onnx-export.py FOLDER", file=sys.stderr)
        return 2
    root = sys.argv[1]
    cases = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "case.json"))) if os.path.isdir(root) else []
    if not cases:
        print(f"error: {root}: no exported cases (run the Swift tests with EFFNET_ONNX_EXPORT_OUT={root})", file=sys.stderr)
        return 2
    failed = 0
    for name in cases:
        try:
            ok, detail = check(os.path.join(root, name))
        except Exception as e:  # a model ORT or the checker refuses is a failure, not a crash
            ok, detail = False, f"{type(e).__name__}: {e}"
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    checker = "with onnx.checker full_check" if onnx is not None else "without onnx.checker (onnx not installed)"
    print(f"{len(cases) - failed}/{len(cases)} exported models match in ONNX Runtime {ort.__version__} ({checker})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

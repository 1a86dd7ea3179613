#!/usr/bin/env python
"""Loads Swift-written Keras weights into real Keras and compares with the source's output.

    python Fixtures/export/check_keras_export.py DIR [--tf-keras]

Needs a venv with tensorflow (CPU) and keras 3; --tf-keras also tf_keras (Keras 2). DIR is
where the Swift tests left the exported files (EFFNET_KERAS_EXPORT_DIR=DIR swift test --filter
KerasExportTests): per case `<case>.weights.h5` (Keras 3 layout), `<case>.h5` (Keras 2 layout)
and `<case>.json`, which names the Keras builder and its arguments, the source's input (NCHW;
0-255 pixels, or the normalised tensor of a PyTorch source together with its mean/std) and the
output the source framework itself recorded for it.

For each case and file: build the keras.applications model with weights=None (the named
EfficientNetB0..B7 / EfficientNetV2B0..L, or keras' internal EfficientNet / EfficientNetV2
builder for a custom width and depth) with classifier_activation softmax or None as the source's output was, `load_weights` the file,
run it on the 0-255 pixels (a normalised source input is turned back into pixels with the
source's mean and std) and compare log-probabilities with the source's output:
max|a - b| / max(1, max|ref|) must stay below 1e-4, and the top-1 class must agree.
Exit status 1 when any case fails. Prints one line per case and file.
"""
import argparse
import glob
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

TOLERANCE = 1e-4


def log_probabilities(y, softmax):
    y = np.asarray(y, dtype=np.float64)
    if softmax:
        return np.log(np.maximum(y, 1e-30))
    m = y.max(axis=1, keepdims=True)
    return y - m - np.log(np.exp(y - m).sum(axis=1, keepdims=True))


def pixels_nhwc(info):
    x = np.load(info["input"]).astype(np.float64)
    if info["input_kind"] == "normalized":
        mean = np.array(info["mean"]).reshape(1, -1, 1, 1)
        std = np.array(info["std"]).reshape(1, -1, 1, 1)
        x = (x * std + mean) / info["pixel_scale"]
    return np.transpose(x, (0, 2, 3, 1)).astype(np.float32)


def build(keras_module, applications, info, size):
    """The Keras model the case names; softmax out when the source recorded probabilities (so
    both sides round the same float32 softmax), logits otherwise."""
    from importlib import import_module
    common = dict(weights=None, classes=info["classes"],
                  classifier_activation="softmax" if info["expected_softmax"] else None)
    shape = (size[0], size[1], 3)
    model = info["keras_model"]
    if model.startswith("keras.applications."):
        cls = model[len("keras.applications."):].split("(")[0]
        return getattr(applications, cls)(input_shape=shape, **common)
    src = "tf_keras.src.applications" if keras_module == "tf_keras" else "keras.src.applications"
    if info["v2"]:
        v2 = import_module(src + ".efficientnet_v2")
        # keras 3 calls the blocks' model name `name`, tf_keras `model_name`.
        key = "model_name" if keras_module == "tf_keras" else "name"
        return v2.EfficientNetV2(info["width"], info["depth"], size[0], input_shape=shape, **{key: info["blocks_args"]}, **common)
    v1 = import_module(src + ".efficientnet")
    return v1.EfficientNet(info["width"], info["depth"], size[0], input_shape=shape, **common)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--tf-keras", action="store_true", help="also load the Keras 2 .h5 files into tf_keras")
    args = ap.parse_args()
    import keras
    frameworks = [("keras", keras.applications, keras.__version__)]
    if args.tf_keras:
        import tf_keras
        frameworks.append(("tf_keras", tf_keras.applications, tf_keras.__version__))
    failures = 0
    cases = sorted(glob.glob(os.path.join(args.dir, "*.json")))
    if not cases:
        print(f"no cases in {args.dir}", file=sys.stderr)
        return 2
    for path in cases:
        info = json.load(open(path))
        x = pixels_nhwc(info)
        # Built for the size it runs at: the export's padding equals keras' there (the Swift side
        # checked the halvings' parities against the size its plan names).
        size = [x.shape[1], x.shape[2]]
        expected = log_probabilities(np.load(info["expected"]), info["expected_softmax"])
        for module, applications, version in frameworks:
            files = info["files"] if module == "keras" else [f for f in info["files"] if not f.endswith(".weights.h5")]
            for name in files:
                model = build(module, applications, info, size)
                model.load_weights(os.path.join(args.dir, name))
                got = log_probabilities(np.asarray(model(x, training=False)), info["expected_softmax"])
                err = float(np.abs(got - expected).max() / max(1.0, np.abs(expected).max()))
                top1 = bool((got.argmax(1) == expected.argmax(1)).all())
                ok = err < TOLERANCE and top1
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {info['case']:<24} {name:<36} {module} {version}: "
                      f"log-prob relative error {err:.3g}, top-1 {'agrees' if top1 else 'DIFFERS'} ({info['keras_model']})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

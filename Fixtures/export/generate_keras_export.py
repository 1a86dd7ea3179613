#!/usr/bin/env python
"""Keras source models for the Keras export loop (Keras -> EffNetKit -> Keras).

    python Fixtures/export/generate_keras_export.py            # the small committed source
    python Fixtures/export/generate_keras_export.py --named OUT  # + real EfficientNetB0 and
                                                                 #   EfficientNetV2B0, into OUT

Needs a venv with tensorflow (CPU) and keras 3. Never run by CI; the small source's outputs are
committed here. The named models (21 and 28 MB) are for local runs only and go to OUT.

Per case `<case>.weights.h5` (what `model.save_weights` writes), `<case>_input.npy` (NCHW
float32 0-255 pixels, two images) and `<case>_output.npy` (the logits Keras computes for them,
classifier_activation=None), and `<case>.source.json` describing them for the Swift test
(KerasExportTests.testGeneratedSources), which converts the source, exports it in both Keras
layouts and leaves the files for check_keras_export.py.

Weights are not left at their initial values (Fixtures/generate_keras.py's helpers): random
batch-norm gamma/beta and conv biases, batch-norm statistics from training-mode passes over
random images with momentum 0, and a classifier kernel scaled so logits spread over a few units.
The reference output is taken from a fresh model that loaded the saved file, not from the live
object (FORMATS.md: Keras 3's Normalization keeps its old values after set_weights until reloaded).
"""
import argparse
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from generate_keras import images, randomise, sharpen  # noqa: E402


def small_v1():
    from keras.src.applications import efficientnet as E
    return E.EfficientNet(0.25, 0.34, 64, weights=None, classes=10, input_shape=(64, 64, 3),
                          classifier_activation=None, name="k3_small_v1"), 64


def named_b0():
    import keras
    return keras.applications.EfficientNetB0(weights=None, classifier_activation=None), 224


def named_v2b0():
    import keras
    return keras.applications.EfficientNetV2B0(weights=None, classifier_activation=None), 224


def make(name, builder, out, rng):
    import keras
    from keras import layers
    model, size = builder()
    bns = randomise(model.layers, rng, layers.BatchNormalization, (layers.Conv2D, layers.Dense),
                    lambda bn, m: setattr(bn, "momentum", m))
    for _ in range(2):
        model(images(rng, 8, size, size), training=True)
    for bn in bns:
        bn.momentum = 0.99
    sharpen(model, rng, size, size, keras.Model)
    path = os.path.join(out, f"{name}.weights.h5")
    model.save_weights(path)
    fresh, _ = builder()
    fresh.load_weights(path)
    x = images(rng, 2, size, size)
    y = np.asarray(fresh(x, training=False)).astype("float32")
    live = np.asarray(model(x, training=False))
    np.save(os.path.join(out, f"{name}_input.npy"), np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.save(os.path.join(out, f"{name}_output.npy"), y)
    info = {"case": name, "file": f"{name}.weights.h5", "input": f"{name}_input.npy", "expected": f"{name}_output.npy",
            "softmax": False, "keras": keras.__version__, "model": model.name, "input_size": [size, size],
            "live_vs_reloaded_max_abs": float(np.abs(live - y).max())}
    with open(os.path.join(out, f"{name}.source.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    spread = float(np.median(np.std(y, axis=1)))
    print(f"{name}: {model.name}, {model.count_params()} parameters, logit spread {spread:.2f}, "
          f"top-1 {y.argmax(1).tolist()}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--named", metavar="OUT", help="also write EfficientNetB0 and EfficientNetV2B0 sources to OUT")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import keras
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(20261207)
    make("k3_small_v1", small_v1, HERE, rng)
    if args.named:
        os.makedirs(args.named, exist_ok=True)
        make("keras_b0", named_b0, args.named, rng)
        make("keras_v2b0", named_v2b0, args.named, rng)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates the tf2onnx fixtures of EffNetKit's ONNX tests (Keras -> ONNX, NHWC input).

Run with the tf virtual environment (never needed by CI; the outputs are committed):

    python Fixtures/generate_onnx_tf.py

Writes Fixtures/onnx/<case>/ like Fixtures/generate_onnx.py does. The ONNX graph takes NHWC
input; input.npy is stored NCHW (the toolkit's convention, CONTRACT.md) and ort_output.npy was
computed on its NHWC transpose. source_output.npy is what Keras computed.
"""
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
import keras  # noqa: E402
from keras.src.applications import efficientnet as keras_efficientnet  # noqa: E402

OUT = Path(__file__).resolve().parent / "onnx"


def randomise(model, size, seed):
    """Random BN affine parameters, statistics from one train-mode pass with momentum 0 (Keras
    keeps the last batch's statistics), random Normalization mean/variance, random biases, and a
    classifier scaled so that the softmax is far from uniform."""
    rng = np.random.default_rng(seed)
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    for l in model.layers:
        if isinstance(l, keras.layers.Normalization):
            mean, var, count = l.get_weights()
            l.set_weights([rng.uniform(0.3, 0.6, mean.shape).astype(np.float32),
                           rng.uniform(0.04, 0.08, var.shape).astype(np.float32), count])
        elif isinstance(l, keras.layers.BatchNormalization):
            g, b, m, v = l.get_weights()
            l.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                           (rng.standard_normal(b.shape) * 0.2).astype(np.float32), m, v])
            l.momentum = 0.0
        elif isinstance(l, (keras.layers.Conv2D, keras.layers.Dense)) and l.use_bias:
            w = l.get_weights()
            w[-1] = (rng.standard_normal(w[-1].shape) * 0.1).astype(np.float32)
            l.set_weights(w)
    x = rng.uniform(0, 255, (4, size, size, 3)).astype(np.float32)
    model(x, training=True)
    for l in bns:
        l.momentum = 0.99
    dense = model.get_layer("predictions")
    k, b = dense.get_weights()
    feats = keras.Model(model.inputs, dense.input)(x, training=False).numpy()
    std = float(np.std(feats @ k)) or 1.0
    dense.set_weights([k * (3.0 / std), b])
    return model


def keras_case(name, width, depth, size, classes, opset, seed):
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model = keras_efficientnet.EfficientNet(width, depth, size, dropout_rate=0.2, name=f"effnet_{name}",
                                            include_top=True, weights=None, input_shape=(size, size, 3),
                                            classes=classes)
    randomise(model, size, seed)
    rng = np.random.default_rng(1000 + seed)
    x_nhwc = rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    y = model(x_nhwc, training=False).numpy()
    spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name="input"),)
    path = folder / "model.onnx"
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset, output_path=str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y_ort = sess.run(None, {sess.get_inputs()[0].name: x_nhwc})[0]
    np.save(folder / "input.npy", np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    np.save(folder / "source_output.npy", y)
    np.save(folder / "ort_output.npy", y_ort)
    m = onnx.load(str(path))
    ops = sorted({n.op_type for n in m.graph.node})
    err = float(np.abs(y - y_ort).max() / max(1.0, np.abs(y).max()))
    info = dict(case=name, exporter="tf2onnx", opset=opset, producer=f"{m.producer_name} {m.producer_version}",
                input_shape=[2, 3, size, size], graph_layout="NHWC", ops=ops, keras_vs_ort_relative=err,
                family="keras", padding="sameStatic", image_size=[size, size], bn_eps=1e-3, activation="silu",
                final_softmax=True, input_transform=True, keras=keras.__version__, tf2onnx=tf2onnx.__version__)
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    size_kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    print(f"{name}: tf2onnx opset {opset}, {size_kb} KB, keras vs ORT {err:.2e}, ops {ops}")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    keras_case("keras_tf2onnx13", 0.25, 0.25, 64, 5, 13, 11)

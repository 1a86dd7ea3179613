#!/usr/bin/env python3
"""Writes the Keras part of Fixtures/v2/: small EfficientNetV2 models built by Keras 3's own
base function (keras.src.applications.efficientnet_v2.EfficientNetV2), saved as `.keras`,
`.weights.h5` and legacy `.h5`, with the output of the model RELOADED from the file (issue 13);
a tf2onnx export of one of them; names-and-shapes manifests of the real EfficientNetV2B0-B3/S/M/L.

Run with a venv holding tensorflow-cpu, keras 3, h5py, tf2onnx, onnx and onnxruntime (never in
CI; the outputs are committed):

    python Fixtures/generate_v2_keras.py

Cases (one folder each under Fixtures/v2/):
  keras_b_like    EfficientNetV2(name="efficientnetv2-b0", ...): the B-models' preprocessing
                  (Rescaling(1/255) then Normalization(ImageNet mean, variance = std**2))
  keras_s_like    EfficientNetV2(name="efficientnetv2-s", ...): the S/M/L preprocessing,
                  Rescaling(scale=1/128, offset=-1), i.e. x/128 - 1
  keras_notop_head  a functional model: Input(None, None, 3) -> an include_top=False
                  EfficientNetV2 base (a nested model) -> GlobalAveragePooling2D -> Dense
                  (logits), as fine-tuning tutorials build it; evaluated at 64 and 67
Keras decides the preprocessing from the `name` argument (efficientnet_v2.py:
`name.split("-")[-1].startswith("b")`), and `blocks_args="default"` looks the stage table up
by the same name, so `name` must be one of the real models' names.

Each case folder holds:
  model.keras, model.weights.h5, model.h5   the same weights in Keras 3's three layouts
                      (keras_s_like has no model.weights.h5, for size: that layout holds no
                      preprocessing constants, so it would add nothing keras_b_like's does not)
  input_64.npy        NCHW float32 0..255, batch 2 (the Swift side's layout)
  expected_64.npy     model.predict(input.transpose(0, 2, 3, 1)) of the model reloaded from
                      model.keras (softmax probabilities, or logits for keras_notop_head); each
                      of the three files is reloaded and checked against it
  input_67.npy, expected_67.npy   keras_notop_head only (its input size is not fixed)
  info.json           the builder call, the preprocessing constants as Keras applies them (read
                      from the layers), bn eps, the block table read from the built layers, and
                      every layer with weights: [name, class, [variable shapes]] in model order

onnx_keras_b_like/: tf2onnx export of keras_b_like (NHWC graph input) with input.npy (NCHW),
source_output.npy (Keras), ort_output.npy (ONNX Runtime on the NHWC transpose) and case.json,
as Fixtures/onnx/keras_tf2onnx13/.

manifests/keras_efficientnetv2<b0..b3,s,m,l>.json: the layers with weights of the real models
(weights=None, nothing downloaded) in model order as [layer name, .weights.h5 group, [variable
shapes]] (the format of Fixtures/keras/manifest_efficientnetb0.json), plus the input shape,
preprocessing layers, bn eps and block table.

Weights are not left at their initial values: BN gamma/beta and SE biases are random, each
conv kernel feeding a BN is scaled so that the BN's input variance is max(1e-3, 10 * epsilon)
(a wrong epsilon then shows far above 1e-4 without swamping the signal), BN moving statistics are a
training-mode batch's (momentum 0), and the classifier kernel is scaled so that logits spread
over about 3 units. The live model is never the reference: Keras's Normalization layer keeps
using stale constants until the model is saved and loaded (FORMATS.md), so outputs come from
the reloaded file.
"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import warnings  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")
OUT = Path(__file__).resolve().parent / "v2"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Models

def builder_text(kwargs):
    return ("keras.src.applications.efficientnet_v2.EfficientNetV2("
            + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")


def build_top(name, width, depth, classes, seed):
    import keras
    from keras.src.applications import efficientnet_v2 as E
    keras.utils.set_random_seed(seed)
    kwargs = dict(width_coefficient=width, depth_coefficient=depth, default_size=64, name=name,
                  include_top=True, weights=None, input_shape=(64, 64, 3), classes=classes,
                  include_preprocessing=True)
    return E.EfficientNetV2(**kwargs), builder_text(kwargs)


def build_notop_head(name, width, depth, classes, seed):
    import keras
    from keras.src.applications import efficientnet_v2 as E
    keras.utils.set_random_seed(seed)
    kwargs = dict(width_coefficient=width, depth_coefficient=depth, default_size=64, name=name,
                  include_top=False, weights=None, input_shape=(None, None, 3), include_preprocessing=True)
    base = E.EfficientNetV2(**kwargs)
    inputs = keras.Input((None, None, 3), name="image")
    x = base(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dense(classes, name="head_dense")(x)
    model = keras.Model(inputs, x, name="v2_notop_head")
    text = (f"base = {builder_text(kwargs)}; inputs = keras.Input((None, None, 3), name='image'); "
            f"x = keras.layers.GlobalAveragePooling2D(name='head_pool')(base(inputs)); "
            f"keras.Model(inputs, keras.layers.Dense({classes}, name='head_dense')(x), name='v2_notop_head')")
    return model, text


CASES = {
    # (builder, name, width, depth, classes, eval sizes, classifier layer, softmax)
    "keras_b_like": (build_top, "efficientnetv2-b0", 0.125, 0.1, 10, (64,), "predictions", True),
    "keras_s_like": (build_top, "efficientnetv2-s", 0.125, 0.1, 10, (64,), "predictions", True),
    "keras_notop_head": (build_notop_head, "efficientnetv2-b0", 0.125, 0.1, 5, (64, 67), "head_dense", False),
}


def all_layers(model):
    """Layers in model order, nested models flattened."""
    import keras
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(all_layers(layer))
        else:
            out.append(layer)
    return out


# ---------------------------------------------------------------------------------------------
# Weights that are not at their initial values

def images(rng, n, h, w):
    """NHWC float32 in 0..255: smooth colour fields plus noise, so activations look like photos'."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = []
    for _ in range(n):
        chans = []
        for _ in range(3):
            a, b, c = rng.uniform(-1, 1, 3)
            base = 127.5 + 90 * np.sin(3 * a * xx + 2 * b * yy + c)
            chans.append(base + rng.normal(0, 25, (h, w)))
        out.append(np.stack(chans, -1))
    return np.clip(np.stack(out), 0, 255).astype("float32")


def set_pre_bn_variance(model, rng):
    """Scales each convolution feeding a BN so that the BN's input variance (mean over channels,
    batch statistics upstream) is max(1e-3, 10 * epsilon): close enough to epsilon that a wrong
    one moves the output far above 1e-4, far enough above it that the signal is not swamped."""
    import keras
    from keras import layers
    net = next((l for l in model.layers if isinstance(l, keras.Model)), model)  # a nested base
    x = images(rng, 8, 64, 64)
    conv = None
    for layer in net.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)) and not layer.use_bias:
            conv = layer
        elif isinstance(layer, layers.BatchNormalization):
            probe = keras.Model(net.inputs, layer.input)
            v = float(np.mean(np.var(np.asarray(probe(x, training=True)), axis=(0, 1, 2))))
            w = conv.get_weights()
            w[0] = (w[0] * np.sqrt(max(1e-3, 10 * layer.epsilon) / v)).astype("float32")
            conv.set_weights(w)


def randomise(model, rng, classifier_name):
    import keras
    from keras import layers
    layers_ = all_layers(model)
    bns = []
    for layer in layers_:
        if isinstance(layer, layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape).astype("float32"),
                               rng.normal(0, 0.2, b.shape).astype("float32"), m, v])
            layer.momentum = 0.0  # moving statistics = the training batch's
            bns.append(layer)
        elif isinstance(layer, layers.Conv2D) and layer.use_bias:  # SE convolutions: biases start at zero
            w = layer.get_weights()
            w[1] = rng.normal(0, 0.1, w[1].shape).astype("float32")
            layer.set_weights(w)
    set_pre_bn_variance(model, rng)
    model(images(rng, 8, 64, 64), training=True)
    for bn in bns:
        bn.momentum = 0.9  # EfficientNetV2's bn_momentum default
    dense = model.get_layer(classifier_name)
    features = keras.Model(model.inputs, dense.input)(images(rng, 16, 64, 64), training=False)
    kernel, bias = dense.get_weights()
    spread = float(np.median(np.std(np.asarray(features) @ kernel, axis=1)))
    dense.set_weights([kernel * (3.0 / spread), rng.normal(0, 0.3, bias.shape).astype("float32")])


# ---------------------------------------------------------------------------------------------
# What the built layers say

def preprocessing(model):
    """The input transform layers in order, with the constants Keras applies (from the layers)."""
    import keras
    out = []
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.Rescaling):
            out.append(dict(layer=layer.name, cls="Rescaling", scale=float(layer.scale), offset=float(layer.offset),
                            applies="x * scale + offset"))
        elif isinstance(layer, keras.layers.Normalization):
            mean = np.asarray(layer.mean).reshape(-1).tolist()
            var = np.asarray(layer.variance).reshape(-1).tolist()
            out.append(dict(layer=layer.name, cls="Normalization", mean=mean, variance=var,
                            std=np.sqrt(var).tolist(), axis=layer.axis,
                            applies="(x - mean) / max(sqrt(variance), keras.backend.epsilon())",
                            in_weights=len(layer.weights) > 0))
    return out


def block_table(model):
    """One row per block, from the layer names and the built layers (Keras names blocks
    `block<stage><letter>_`, 1-based stage)."""
    import keras
    by_name = {l.name: l for l in all_layers(model)}
    prefixes = []
    for name in by_name:
        if name.startswith("block") and "_" in name:
            p = name.split("_")[0] + "_"
            if p not in prefixes:
                prefixes.append(p)
    rows = []
    for p in prefixes:
        get = lambda s: by_name.get(p + s)  # noqa: E731
        expand, dw, proj = get("expand_conv"), get("dwconv2"), get("project_conv")
        se_reduce = get("se_reduce")
        first = expand or dw or proj
        cin = first.input.shape[-1]
        expanded = expand.filters if expand else cin
        main = dw if dw else (expand if expand else proj)
        rows.append({"prefix": p, "stage": int(p[5:-2]) - 1, "kind": "mbconv" if dw else "fused",
                     "convs": sum(x is not None for x in (expand, dw, proj)), "expand_ratio": expanded / cin,
                     "kernel": main.kernel_size[0], "stride": main.strides[0], "in": cin, "expanded": expanded,
                     "out": proj.filters, "se": se_reduce.filters if se_reduce else None,
                     "residual": get("add") is not None,
                     "activation_after_last_conv": get("project_activation") is not None,
                     "layers": [n for n in by_name if n.startswith(p)]})
    bns = sorted({float(l.epsilon) for l in by_name.values() if isinstance(l, keras.layers.BatchNormalization)})
    stem, top = by_name["stem_conv"], by_name["top_conv"]
    return dict(stem=dict(layer="stem_conv", channels=stem.filters, kernel=stem.kernel_size[0], stride=stem.strides[0]),
                head=dict(layer="top_conv", channels=top.filters), bn_eps=bns, blocks=rows)


BLOCK_FIELDS = {
    "prefix": "Keras layer-name prefix of the block (block<stage, 1-based><letter>_)",
    "stage": "0-based stage",
    "kind": "fused (FusedMBConvBlock: no depthwise conv) or mbconv (MBConvBlock)",
    "convs": "convolutions, SE excluded: fused 1 (expand ratio 1: ONE k x k conv named project_conv, "
             "then project_bn and project_activation) or 2 (k x k expand_conv + expand_bn + activation, "
             "1x1 project_conv + project_bn); mbconv 3 (expand_conv 1x1, dwconv2 k x k depthwise, project_conv 1x1)",
    "expand_ratio": "expanded / in (Keras does not round the expanded width to a multiple of 8)",
    "kernel": "kernel of the k x k conv (fused) or of the depthwise conv (mbconv)",
    "stride": "stride of that conv", "in": "block input channels",
    "expanded": "channels after the expansion (= in when there is none)", "out": "block output channels",
    "se": "filters of se_reduce (SE: GlobalAveragePooling2D, Reshape, Conv2D swish, Conv2D sigmoid, multiply) or null",
    "residual": "a <prefix>add layer exists (stride 1 and in == out)",
    "activation_after_last_conv": "a <prefix>project_activation layer exists",
    "layers": "the block's layers in model order",
}


def weight_layers(model):
    """[name, class, [variable shapes]] for every layer with weights, model order."""
    return [[l.name, type(l).__name__, [list(w.shape) for w in l.weights]] for l in all_layers(model) if l.weights]


# ---------------------------------------------------------------------------------------------
# Cases

def write_case(case, index):
    import keras
    build, name, width, depth, classes, sizes, clf, softmax = CASES[case]
    rng = np.random.default_rng(20261206 + index)
    model, call = build(name, width, depth, classes, seed=100 + index)
    randomise(model, rng, clf)
    folder = OUT / case
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files = ["model.keras", "model.h5"] if case == "keras_s_like" else ["model.keras", "model.weights.h5", "model.h5"]
    model.save(folder / "model.keras")
    if "model.weights.h5" in files:
        model.save_weights(folder / "model.weights.h5")
    model.save(folder / "model.h5")  # legacy HDF5: model_config + model_weights

    # The reference: the model reloaded from model.keras (never the live object).
    ref = keras.saving.load_model(folder / files[0])
    outputs = {}
    for size in sizes:
        x = images(rng, 2 if size == 64 else 1, size, size)
        y = ref.predict(x, verbose=0)
        np.save(folder / f"input_{size}.npy", np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        np.save(folder / f"expected_{size}.npy", y.astype("float32"))
        outputs[size] = (x, y)
    live_err = max(float(np.abs(model.predict(x, verbose=0) - y).max()) for x, y in outputs.values())

    # Every file gives the same numbers.
    checks = {}
    loaded = [("model.keras", ref), ("model.h5", keras.saving.load_model(folder / "model.h5"))]
    if "model.weights.h5" in files:
        fresh, _ = build(name, width, depth, classes, seed=999)
        fresh.load_weights(folder / "model.weights.h5")
        loaded.append(("model.weights.h5", fresh))
    for fname, m in loaded:
        err = max(float(np.abs(m.predict(x, verbose=0) - y).max()) for x, y in outputs.values())
        assert err < 1e-5, f"{case}/{fname}: {err}"
        checks[fname] = err
    probs = [y if softmax else np.exp(y - y.max(1, keepdims=True)) / np.exp(y - y.max(1, keepdims=True)).sum(1, keepdims=True)
             for _, y in outputs.values()]
    table = block_table(ref)
    info = dict(case=case, family="keras", builder_call=call, keras=keras.__version__,
                padding="sameDynamic", padding_note="Keras padding='same' everywhere (TF SAME from the actual "
                "input size; no ZeroPadding2D as in V1)", bn_eps=table.pop("bn_eps"), activation="swish",
                num_classes=classes, output="softmax probabilities" if softmax else "logits",
                parameters=int(ref.count_params()), preprocessing=preprocessing(ref),
                input_layout_of_files="NCHW float32 0..255; Keras ran on the NHWC transpose",
                **table, block_fields=BLOCK_FIELDS, weight_layers=weight_layers(ref),
                nested_model=next((l.name for l in ref.layers if isinstance(l, keras.Model)), None),
                files=files, reload_max_abs_error=checks, live_vs_reloaded_max_abs=live_err,
                max_prob_per_row=[float(v) for p in probs for v in p.max(1)],
                inputs={str(s): list(np.load(folder / f"input_{s}.npy").shape) for s in sizes})
    (folder / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    blocks = " ".join(f"{'F' if b['kind'] == 'fused' else 'M'}{b['in']}>{b['expanded']}>{b['out']}"
                      f"{'s' if b['se'] else ''}{'+' if b['residual'] else ''}" for b in info["blocks"])
    log(f"{case}: {info['parameters']} params, {kb} KB, reload errors {checks}, live vs reloaded {live_err:.2e}; "
        f"{[p['cls'] for p in info['preprocessing']]}; {blocks}")
    return ref, outputs


def write_tf2onnx(case, model, x_nhwc, y):
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    import keras
    folder = OUT / f"onnx_{case}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    size = x_nhwc.shape[1]
    spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name="input"),)
    path = folder / "model.onnx"
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y_ort = sess.run(None, {sess.get_inputs()[0].name: x_nhwc})[0]
    np.save(folder / "input.npy", np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    np.save(folder / "source_output.npy", y.astype("float32"))
    np.save(folder / "ort_output.npy", y_ort)
    m = onnx.load(str(path))
    ops = sorted({n.op_type for n in m.graph.node})
    err = float(np.abs(y - y_ort).max() / max(1.0, np.abs(y).max()))
    rel = float(np.abs(y - y_ort).max() / np.abs(y).max())
    assert rel < 1e-4, f"onnx_{case}: keras vs ORT {rel}"
    src = json.loads((OUT / case / "info.json").read_text())
    info = dict(case=f"onnx_{case}", exporter="tf2onnx", opset=17, producer=f"{m.producer_name} {m.producer_version}",
                input_shape=list(np.load(folder / "input.npy").shape), graph_layout="NHWC", ops=ops,
                keras_vs_ort_relative=err, family="keras", padding="sameStatic", image_size=[size, size],
                bn_eps=src["bn_eps"][0], activation="silu", final_softmax=True, input_transform=True,
                preprocessing=src["preprocessing"], source_case=case, blocks_from=f"../{case}/info.json",
                keras=keras.__version__, tf2onnx=tf2onnx.__version__)
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    log(f"onnx_{case}: tf2onnx opset 17, {kb} KB, keras vs ORT {err:.2e}, ops {ops}")


# ---------------------------------------------------------------------------------------------
# Manifests of the real models

def write_manifests():
    import keras
    folder = OUT / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    for variant in ("B0", "B1", "B2", "B3", "S", "M", "L"):
        keras.backend.clear_session()
        model = getattr(keras.applications, f"EfficientNetV2{variant}")(weights=None)
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "m.weights.h5")
            model.save_weights(p)
            layers = []
            with h5py.File(p, "r") as f:
                for group in f["layers"]:
                    vars_ = f["layers"][group]["vars"]
                    if len(vars_) == 0:
                        continue
                    layers.append([vars_.attrs["name"], group, [list(vars_[str(i)].shape) for i in range(len(vars_))]])
        order = {layer.name: i for i, layer in enumerate(model.layers)}
        layers.sort(key=lambda l: order[l[0]])
        table = block_table(model)
        for row in table["blocks"]:
            row.pop("layers")
        doc = {"model": f"EfficientNetV2{variant}", "name": model.name, "keras": keras.__version__,
               "builder_call": f"keras.applications.EfficientNetV2{variant}(weights=None)",
               "input_shape": list(model.input_shape[1:]), "parameters": int(model.count_params()),
               "preprocessing": preprocessing(model), "bn_eps": table.pop("bn_eps"), **table, "layers": layers}
        path = folder / f"keras_efficientnetv2{variant.lower()}.json"
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        log(f"manifests/{path.name}: {len(layers)} layers with weights, {len(table['blocks'])} blocks, "
            f"input {doc['input_shape']}, {[p['cls'] for p in doc['preprocessing']]}")


def main():
    OUT.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    for i, case in enumerate(CASES):
        if only and case not in only:
            continue
        ref, outputs = write_case(case, i)
        if case == "keras_b_like":
            write_tf2onnx(case, ref, *outputs[64])
    if not only or "manifests" in only:
        write_manifests()


if __name__ == "__main__":
    main()

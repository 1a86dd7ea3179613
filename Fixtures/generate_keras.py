#!/usr/bin/env python3
"""Writes Fixtures/keras/: small EfficientNets built by keras.applications' own EfficientNet
builder (Keras 3 and tf.keras 2 through `tf_keras`), saved in every Keras layout, with Keras's
own output for an input batch.

    python Fixtures/generate_keras.py

Never run by CI; its outputs are committed. Everything is seeded, but TensorFlow's CPU kernels
are not bit-reproducible across machines, so regenerating changes the bytes, not the meaning.

`manifest_efficientnetb<n>.json`: the layers with weights of the real EfficientNetB0-B7 in
model order, as [layer name, .weights.h5 class-counter group, [variable shapes]] (no weights).

Per model: `<model>_input.npy` (NCHW float32, 0-255, what the Swift side takes) and
`<model>_output.npy` (what Keras returns for it: softmax probabilities, or logits for the model
built with classifier_activation=None). Every saved file is loaded back by its framework and
checked against the same output before the script moves on.

Weights are not left at their initial values: batch-norm gamma/beta and conv biases are drawn at
random, batch-norm statistics are set by running the model in training mode on random images
with momentum 0 (so moving statistics are the last batch's), and the classifier kernel is scaled
so that a typical image's logits spread over about 3 units (an untouched weights=None model has a
near-uniform softmax that would hide errors).
"""
import json
import os
import sys
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import warnings  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "keras")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
manifest = {}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Shared: weights that are not at their initial values, inputs, checks.

def randomise(layers, rng, keras_bn_class, conv_classes, set_momentum):
    """Random BN affine parameters and conv biases; returns the BN layers."""
    bns = []
    for layer in layers:
        if isinstance(layer, keras_bn_class):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.6, 1.4, g.shape).astype("float32"),
                               rng.normal(0, 0.2, b.shape).astype("float32"), m, v])
            bns.append(layer)
        elif isinstance(layer, conv_classes) and getattr(layer, "use_bias", False):
            w = layer.get_weights()
            w[1] = rng.normal(0, 0.1, w[1].shape).astype("float32")
            layer.set_weights(w)
    for bn in bns:
        set_momentum(bn, 0.0)
    return bns


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


def save_pair(name, x_nhwc, y):
    np.save(os.path.join(OUT, f"{name}_input.npy"), np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    np.save(os.path.join(OUT, f"{name}_output.npy"), y.astype("float32"))


def check_same(tag, a, b):
    err = float(np.max(np.abs(a - b)))
    assert err < 1e-5, f"{tag}: reloaded model differs by {err}"
    log(f"  {tag}: reload matches (max abs {err:.2e})")


def describe(y, softmax):
    p = y if softmax else np.exp(y - y.max(1, keepdims=True)) / np.exp(y - y.max(1, keepdims=True)).sum(1, keepdims=True)
    return f"max prob per row {np.round(p.max(1), 3).tolist()}, top-1 {p.argmax(1).tolist()}"


def strip_name_attributes(path):
    """Removes the `name` attribute newer Keras 3 writes on every `vars` group, giving the layout
    older Keras 3 releases wrote (class-name counters only)."""
    with h5py.File(path, "r+") as f:
        def visit(_, obj):
            if isinstance(obj, h5py.Group) and "name" in obj.attrs:
                del obj.attrs["name"]
        f.visititems(visit)
        if "name" in f.attrs:
            del f.attrs["name"]


# ---------------------------------------------------------------------------------------------
# Keras 3

def keras3_model(width, depth, default_size, classes, name, dynamic=False, imagenet_style=False,
                 classifier_activation="softmax", seed=0):
    import keras
    from keras.src.applications import efficientnet as E
    from keras.src.models.model import Model
    keras.utils.set_random_seed(seed)
    kwargs = dict(width_coefficient=width, depth_coefficient=depth, default_size=default_size,
                  classes=classes, name=name, classifier_activation=classifier_activation)
    if dynamic:
        kwargs["input_tensor"] = keras.Input((None, None, 3))
    else:
        kwargs["input_shape"] = (default_size, default_size, 3)
    if imagenet_style:
        # The code path keras.applications takes for weights="imagenet" (it adds the extra
        # Rescaling of tensorflow issue 49930), without downloading anything: get_file and
        # load_weights are stubbed, and the Normalization weights get the values the real
        # imagenet files hold (mean, and the standard deviations stored as "variance").
        with mock.patch.object(E.file_utils, "get_file", lambda *a, **k: "unused"), \
                mock.patch.object(Model, "load_weights", lambda self, *a, **k: None):
            model = E.EfficientNet(weights="imagenet", weights_name="b0", **kwargs)
        norm = next(l for l in model.layers if isinstance(l, keras.layers.Normalization))
        norm.set_weights(
            [np.array(IMAGENET_MEAN, "float32"), np.array(IMAGENET_STD, "float32"), np.array(0, "int64")])
        # set_weights does not refresh the tensors call() uses; loading a file does (it calls
        # finalize_state), so without this the in-memory model would differ from its own file.
        norm.finalize_state()
    else:
        model = E.EfficientNet(weights=None, **kwargs)
    return model


def keras3_prepare(model, rng, h, w):
    import keras
    from keras import layers
    bns = randomise(model.layers, rng, layers.BatchNormalization, (layers.Conv2D, layers.Dense),
                    lambda bn, m: setattr(bn, "momentum", m))
    for _ in range(2):
        model(images(rng, 8, h, w), training=True)
    for bn in bns:
        bn.momentum = 0.99
    sharpen(model, rng, h, w, keras.Model)


def sharpen(model, rng, h, w, model_class):
    """Scales the classifier kernel so that, for a typical image, logits spread over about 3
    units (the median over images of the standard deviation across classes)."""
    dense = model.get_layer("predictions")
    features = model_class(model.inputs, model.get_layer("avg_pool").output)(images(rng, 16, h, w), training=False)
    kernel, bias = dense.get_weights()
    spread = float(np.median(np.std(np.asarray(features) @ kernel, axis=1)))
    dense.set_weights([kernel * (3.0 / spread), bias])


def build_keras3_fixtures(rng):
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    log(f"Keras {keras.__version__}")

    def record(name, model, eval_size, softmax, files, note):
        x = images(rng, 2, eval_size, eval_size)
        y = np.asarray(model(x, training=False))
        save_pair(name, x, y)
        log(f"  {name}: {describe(y, softmax)}")
        manifest[name] = {"framework": f"keras {keras.__version__}", "input": [2, 3, eval_size, eval_size],
                          "softmax": softmax, "files": files, "note": note}
        return x, y

    # 1. Plain model, fixed 64x64 input, saved as a .keras archive.
    m = keras3_model(0.2, 0.34, 64, 10, "k3_plain64")
    keras3_prepare(m, rng, 64, 64)
    x, y = record("k3_plain64", m, 64, True, ["k3_plain64.keras"],
                  "width 0.2, depth 0.34, built for 64x64: every stride-2 input is even")
    m.save(os.path.join(OUT, "k3_plain64.keras"))
    check_same("k3_plain64.keras", np.asarray(keras.saving.load_model(os.path.join(OUT, "k3_plain64.keras"))(x)), y)

    # 2. Dynamic input (None, None): Keras pads every stride-2 conv by the "even" rule whatever
    #    the size. Evaluated at 72x72, where 9x9 and 5x5 maps are odd: a static SAME padding
    #    computed from 72 would differ there.
    m = keras3_model(0.1, 0.34, 64, 10, "k3_dynamic", dynamic=True, seed=1)
    keras3_prepare(m, rng, 72, 72)
    files = ["k3_dynamic.keras", "k3_dynamic_noname.weights.h5"]
    x, y = record("k3_dynamic", m, 72, True, files,
                  "input (None, None, 3); .weights.h5 with the vars `name` attributes removed "
                  "(the layout of Keras 3 releases before they were added)")
    m.save(os.path.join(OUT, files[0]))
    check_same(files[0], np.asarray(keras.saving.load_model(os.path.join(OUT, files[0]))(x)), y)
    p = os.path.join(OUT, files[1])
    m.save_weights(p)
    strip_name_attributes(p)
    m2 = keras3_model(0.1, 0.34, 64, 10, "k3_dynamic", dynamic=True, seed=99)
    m2.load_weights(p)
    check_same(files[1], np.asarray(m2(x)), y)

    # 3. The imagenet code path (extra Rescaling), 1000 classes, as .keras and .weights.h5.
    m = keras3_model(0.1, 0.25, 64, 1000, "k3_imagenet_style", imagenet_style=True, seed=2)
    keras3_prepare(m, rng, 64, 64)
    files = ["k3_imagenet_style.keras", "k3_imagenet_style.weights.h5"]
    x, y = record("k3_imagenet_style", m, 64, True, files,
                  "built through weights='imagenet' (get_file/load_weights stubbed): Rescaling(1/255), "
                  "Normalization(mean, variance=std), Rescaling(1/sqrt(std)); .weights.h5 keeps Keras's "
                  "`name` attributes but has no config, so the extra rescaling must be recognised "
                  "from the stored variance")
    m.save(os.path.join(OUT, files[0]))
    check_same(files[0], np.asarray(keras.saving.load_model(os.path.join(OUT, files[0]))(x)), y)
    m.save_weights(os.path.join(OUT, files[1]))
    m2 = keras3_model(0.1, 0.25, 64, 1000, "k3_imagenet_style", imagenet_style=True, seed=97)
    m2.load_weights(os.path.join(OUT, files[1]))
    check_same(files[1], np.asarray(m2(x)), y)

    # 4. Legacy full-model .h5 (model_config + model_weights, names without ":0"), odd sizes
    #    (66 -> 33, 17, 9, 5 at the stride-2 convs), logits output.
    m = keras3_model(0.15, 0.5, 66, 5, "k3_legacy_odd", classifier_activation=None, seed=3)
    keras3_prepare(m, rng, 66, 66)
    files = ["k3_legacy_odd.h5"]
    x, y = record("k3_legacy_odd", m, 66, False, files,
                  "width 0.15, depth 0.5, built for 66x66 (odd maps at four stride-2 convs), "
                  "classifier_activation=None (logits)")
    m.save(os.path.join(OUT, files[0]))
    check_same(files[0], np.asarray(keras.saving.load_model(os.path.join(OUT, files[0]))(x)), y)
    # The same weights without a config: nothing in the file says 66x66 (effnet-convert
    # --image-size 66). Written from the reloaded model, as session 2 first made it.
    p = os.path.join(OUT, "k3_legacy_odd.weights.h5")
    keras.saving.load_model(os.path.join(OUT, files[0])).save_weights(p)
    manifest["k3_legacy_odd"]["files"].append("k3_legacy_odd.weights.h5")
    m2 = keras.saving.load_model(os.path.join(OUT, files[0]))
    m2.load_weights(p)
    check_same("k3_legacy_odd.weights.h5", np.asarray(m2(x)), y)

    # 5. The split-attribute layout: Keras's own writer splits lists over 64 KB into
    #    layer_names0, layer_names1, ...
    names = [f"layer_{i:05d}_" + "x" * 40 for i in range(3000)]
    with h5py.File(os.path.join(OUT, "split_attributes.h5"), "w") as f:
        legacy_h5_format.save_attributes_to_hdf5_group(f, "layer_names", [n.encode() for n in names])
        parts = sorted(k for k in f.attrs if k.startswith("layer_names"))
    manifest["split_attributes"] = {"framework": f"keras {keras.__version__}", "attributes": parts,
                                    "names": "layer_{i:05d}_ + 40 x, i in 0..<3000"}
    log(f"  split_attributes.h5: {parts}")


# ---------------------------------------------------------------------------------------------
# tf.keras 2 (tf_keras)

def build_tf_keras_fixtures(rng):
    import tf_keras
    from tf_keras import layers
    from tf_keras.src.applications import efficientnet as E
    from tf_keras.src.engine.training import Model
    log(f"tf_keras {tf_keras.__version__}")

    def build(width, depth, size, classes, model_name, imagenet_style, seed):
        tf_keras.utils.set_random_seed(seed)
        kwargs = dict(model_name=model_name, input_shape=(size, size, 3), classes=classes)
        if not imagenet_style:
            return E.EfficientNet(width, depth, size, weights=None, **kwargs)
        # The weights="imagenet" path: tf.math.multiply by 1/sqrt(std) after Normalization
        # (a TFOpLambda layer in the saved config); nothing is downloaded.
        with mock.patch.object(E.data_utils, "get_file", lambda *a, **k: "unused"), \
                mock.patch.object(Model, "load_weights", lambda self, *a, **k: None):
            m = E.EfficientNet(width, depth, size, weights="imagenet", **kwargs)
        norm = next(l for l in m.layers if isinstance(l, layers.Normalization))
        norm.set_weights([np.array(IMAGENET_MEAN, "float32"), np.array(IMAGENET_STD, "float32"), np.array(0, "int64")])
        norm.finalize_state()  # as in Keras 3: set_weights alone leaves call() on the old values
        return m

    def prepare(m, size):
        bns = randomise(m.layers, rng, layers.BatchNormalization, (layers.Conv2D, layers.Dense),
                        lambda bn, v: setattr(bn, "momentum", v))
        for _ in range(2):
            m(images(rng, 8, size, size), training=True)
        for bn in bns:
            bn.momentum = 0.99
        sharpen(m, rng, size, size, tf_keras.Model)

    def record(name, m, size, files, note):
        x = images(rng, 2, size, size)
        y = np.asarray(m(x, training=False))
        save_pair(name, x, y)
        log(f"  {name}: {describe(y, True)}")
        manifest[name] = {"framework": f"tf_keras {tf_keras.__version__}", "input": [2, 3, size, size],
                          "softmax": True, "files": files, "note": note}
        return x, y

    # 1. Full-model .h5 (Keras 2: model_config, weight names with ":0"), imagenet code path.
    m = build(0.1, 0.25, 64, 1000, "tfk_imagenet_style_b0", True, 4)
    prepare(m, 64)
    files = ["tfk_imagenet_style.h5"]
    x, y = record("tfk_imagenet_style", m, 64, files,
                  "tf.keras 2 imagenet code path (TFOpLambda multiply by 1/sqrt(std)), model.save to .h5")
    m.save(os.path.join(OUT, files[0]))
    check_same(files[0], np.asarray(tf_keras.models.load_model(os.path.join(OUT, files[0]))(x)), y)

    # 2. Weights-only .h5 (save_weights): no config, names with ":0".
    m = build(0.1, 0.34, 64, 10, "tfk_plain_b0", False, 5)
    prepare(m, 64)
    files = ["tfk_plain_weights.h5"]
    x, y = record("tfk_plain", m, 64, files, "tf.keras 2, width 0.1, depth 0.34, 64x64, save_weights to .h5")
    m.save_weights(os.path.join(OUT, files[0]))
    m2 = build(0.1, 0.34, 64, 10, "tfk_plain_b0", False, 6)
    m2.load_weights(os.path.join(OUT, files[0]))
    check_same(files[0], np.asarray(m2(x)), y)


# ---------------------------------------------------------------------------------------------
# Plain HDF5 features for the HDF5 layer's own tests (written by h5py).

def build_hdf5_features():
    p = os.path.join(OUT, "hdf5_features.h5")
    with h5py.File(p, "w") as f:
        a = np.arange(24, dtype="float32").reshape(2, 3, 4) / 8
        f.create_dataset("contiguous_f32", data=a)
        f.create_dataset("chunked_gzip_f32", data=np.arange(1000, dtype="float32").reshape(10, 100) * 0.5,
                         chunks=(3, 17), compression="gzip", compression_opts=6, shuffle=True)
        f.create_dataset("big_endian_f32", data=a.astype(">f4"))
        f.create_dataset("f64", data=np.array([1.0 / 3, -2.5], dtype="float64"))
        f.create_dataset("f16", data=np.array([0.5, -1.25, 65504], dtype="float16"))
        f.create_dataset("i32", data=np.array([[-1, 2], [3, -4]], dtype="int32"))
        f.create_dataset("u8", data=np.array([0, 255], dtype="uint8"))
        f.create_dataset("scalar_i64", data=np.int64(-7))
        f.create_dataset("strings", data=np.array([b"ab", b"cd"]))
        g = f.create_group("outer/inner")
        g.create_dataset("value", data=np.array([42], dtype="int64"))
        f.create_group("empty")
        f["soft"] = h5py.SoftLink("/outer/inner")
        f["external"] = h5py.ExternalLink("other.h5", "/x")
        f.attrs["fixed_ascii"] = np.bytes_(b"hello")
        f.attrs["vlen_utf8"] = "gr\u00fc\u00dfe \u2713"
        f.attrs.create("fixed_array", np.array([b"one", b"three", b""], dtype="S5"))
        f.attrs.create("vlen_array", ["alpha", "beta"], dtype=h5py.string_dtype("utf-8"))
        f.attrs.create("ints", np.array([1, -2, 3], dtype="int16"))
        f.attrs.create("double", 2.5)
        sp = h5py.h5t.C_S1.copy()
        sp.set_size(6)
        sp.set_strpad(h5py.h5t.STR_SPACEPAD)
        aid = h5py.h5a.create(f.id, b"space_padded", sp, h5py.h5s.create(h5py.h5s.SCALAR))
        aid.write(np.array(b"pad   ", dtype="S6"))
    manifest["hdf5_features"] = {"framework": f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version})"}


# ---------------------------------------------------------------------------------------------
# Names and shapes of the real keras.applications EfficientNetB0-B7 (no weights: they are
# built with weights=None and only their structure is recorded), for detection tests.

def build_variant_manifests():
    import tempfile
    import keras
    for n in range(8):
        keras.backend.clear_session()
        model = getattr(keras.applications, f"EfficientNetB{n}")(weights=None)
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "m.weights.h5")
            model.save_weights(p)
            layers = []
            with h5py.File(p, "r") as f:
                for group in f["layers"]:
                    vars_ = f["layers"][group]["vars"]
                    if len(vars_) == 0:
                        continue
                    shapes = [list(vars_[str(i)].shape) for i in range(len(vars_))]
                    layers.append([vars_.attrs["name"], group, shapes])
        # Model order (the .weights.h5 groups are alphabetical): order of model.layers.
        order = {layer.name: i for i, layer in enumerate(model.layers)}
        layers.sort(key=lambda l: order[l[0]])
        with open(os.path.join(OUT, f"manifest_efficientnetb{n}.json"), "w") as f:
            json.dump({"model": f"EfficientNetB{n}", "keras": keras.__version__,
                       "input_shape": list(model.input_shape[1:]),
                       "layers": layers}, f, separators=(",", ":"))
            f.write("\n")
        log(f"  manifest_efficientnetb{n}.json: {len(layers)} layers with weights")


# ---------------------------------------------------------------------------------------------
# Compiled and trained models carry optimizer state, which the reader must skip.

def build_optimizer_fixtures():
    import keras
    import tf_keras
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    y = np.arange(8) % 3
    keras.utils.set_random_seed(7)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu", name="hidden"),
                          keras.layers.Dense(3, name="out")], name="k3_compiled")
    m.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, epochs=1, verbose=0)
    m.save(os.path.join(OUT, "k3_compiled_dense.keras"))
    tf_keras.utils.set_random_seed(7)
    t = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(5, activation="relu", name="hidden"),
                             tf_keras.layers.Dense(3, name="out")], name="tfk_compiled")
    t.compile(optimizer="adam", loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    t.fit(x, y, epochs=1, verbose=0)
    t.save(os.path.join(OUT, "tfk_compiled_dense.h5"))
    manifest["compiled_dense"] = {"files": ["k3_compiled_dense.keras", "tfk_compiled_dense.h5"],
                                  "note": "Dense(5, relu) -> Dense(3), Adam, one epoch: optimizer state in the files"}
    log("  k3_compiled_dense.keras, tfk_compiled_dense.h5")


def main():
    warnings.filterwarnings("ignore")
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240607)
    build_hdf5_features()
    build_keras3_fixtures(rng)
    build_tf_keras_fixtures(rng)
    build_optimizer_fixtures()
    build_variant_manifests()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    log(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fine-tuned heads (issue 14, part 3) and user module names (part 4): small EfficientNets whose
classifier was replaced the way people replace it, saved by the real frameworks, with each
framework's own outputs.

    python Fixtures/generate_heads.py torch   # a venv with torch, torchvision, timm,
                                              # efficientnet-pytorch, transformers, safetensors
    python Fixtures/generate_heads.py keras   # a venv with tensorflow and keras 3

Cases (Fixtures/heads/<case>/, each with weights, input.npy (NCHW float32), expected.npy (the
framework's output for it) and info.json (the head as the framework printed it)):

  tv_mlp        torchvision EfficientNet (width 0.1, depth 0.34): classifier =
                Sequential(Dropout, Linear(C, 32), ReLU, Dropout, Linear(32, 10))      weights.pth
  timm_bn_silu  timm efficientnet_b0 (channel 0.1, depth 0.34): classifier =
                Sequential(Linear(C, 24), BatchNorm1d(24), SiLU, Linear(24, 6))      weights.safetensors
  luke_gelu     efficientnet_pytorch from_name('efficientnet-b0', width 0.25, depth 0.34):
                _fc = Sequential(Linear(C, 16), GELU, Linear(16, 5))                   weights.pth
  seed_sigmoid  the seed notebook's EfficientNetB0Mini (channels / 16): head.6 =
                Sequential(Linear(80, 16), Sigmoid, Dropout, Linear(16, 4))            weights.pth
  hf_mlp        transformers EfficientNetForImageClassification (width 0.25): classifier =
                Sequential(Linear(C, 12), ReLU, Linear(12, 7)), save_pretrained        folder
  renamed       tv_mlp's state dict with the names of someone's own module (see
                renamed/names.json, the --names map that undoes it)                    weights.pth
  roles         a width-0.25 tf_efficientnet_b0 (timm, 9 classes) saved under someone's own
                module's flat names; roles/names.json maps them onto the canonical roles
                with timm-tf's conventions (names_no_conventions.json leaves them open)  weights.pth
  keras_tutorial keras.io's transfer-learning layout on a width-0.1 keras.applications
                EfficientNet: base -> GlobalAveragePooling2D -> BatchNormalization -> Dropout ->
                Dense(8, softmax)                                  model.keras, model.weights.h5
  keras_mlp     Sequential([base (nested), GlobalAveragePooling2D, Dense(32, relu), Dropout,
                Dense(5)]) as model.keras and model.weights.h5 (no config: the activation
                between the Dense layers is not in the file)

BN statistics are randomised (RECIPES.md); the head's BatchNorm1d gets random statistics near
the features' own; the last Linear is scaled so that outputs spread over a few units.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "heads")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float32))


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def fresh(case):
    folder = os.path.join(OUT, case)
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    return folder


# ---------------------------------------------------------------------------------------------
# PyTorch

def torch_cases():
    import torch
    import torch.nn as nn
    sys.path.insert(0, HERE)
    import generate_v2
    from generate_torch_families import (EfficientNetB0MiniReduced, build_lukemelas, build_timm,
                                         build_torchvision, classifier)
    # generate_v2's statistics (pre-BN variances, random affine, cumulative running stats) keep
    # the outputs input-dependent at these small widths; its classifier lookup learns `_fc` and
    # the seed's `head` from generate_torch_families.
    generate_v2.classifier = classifier
    calibrate = generate_v2.calibrate
    from safetensors.torch import save_file

    def features_width(model):
        for name in ("classifier", "_fc"):
            m = getattr(model, name, None)
            if isinstance(m, nn.Linear):
                return m.in_features
            if isinstance(m, nn.Sequential):
                return [x for x in m if isinstance(x, nn.Linear)][0].in_features
        return [x for x in model.head if isinstance(x, nn.Linear)][0].in_features

    @torch.no_grad()
    def finish_head(model, head, x, gen):
        """Random BatchNorm1d statistics near the features', then the last Linear scaled."""
        for m in head.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.05 + 0.01)
            if isinstance(m, nn.Linear):
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.3)
        last = [m for m in head.modules() if isinstance(m, nn.Linear)][-1]
        y = model(x)
        if hasattr(y, "logits"):
            y = y.logits
        last.weight.mul_(3.0 / float(y.std()))

    def head_text(head):
        return [repr(m) for m in head]

    rng = np.random.default_rng(20261207)
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    xt = torch.from_numpy(x)

    def run(model):
        with torch.no_grad():
            y = model(xt)
            return (y.logits if hasattr(y, "logits") else y).numpy()

    def case(name, index, build, attach, saver, facts):
        torch.manual_seed(1400 + index)
        gen = torch.Generator().manual_seed(2400 + index)
        model = build()
        calibrate(model, gen)
        head = attach(model, features_width(model))
        model.eval()
        finish_head(model, head, xt, gen)
        folder = fresh(name)
        saver(model, folder)
        save_npy(os.path.join(folder, "input.npy"), x)
        y = run(model)
        save_npy(os.path.join(folder, "expected.npy"), y)
        info = dict(facts, head=head_text(head), torch=torch.__version__, output_shape=list(y.shape))
        write_json(os.path.join(folder, "info.json"), info)
        log(name, y.shape, float(np.abs(y).max()))
        return model

    def torch_save(model, folder):
        torch.save(model.state_dict(), os.path.join(folder, "weights.pth"))

    def safetensors_save(model, folder):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(folder, "weights.safetensors"))

    def tv_head(model, c):
        model.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(c, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))
        return model.classifier

    tv = case("tv_mlp", 0, lambda: build_torchvision(0.1, 0.34, 1000), tv_head, torch_save,
              dict(family="torchvision", builder="EfficientNet(_efficientnet_conf('efficientnet_b0', 0.1, 0.34))",
                   chain="dropout,linear,relu,dropout,linear"))

    def timm_head(model, c):
        model.classifier = nn.Sequential(nn.Linear(c, 24), nn.BatchNorm1d(24), nn.SiLU(), nn.Linear(24, 6))
        return model.classifier

    case("timm_bn_silu", 1, lambda: build_timm(0.1, 0.34, 1000), timm_head, safetensors_save,
         dict(family="timm", builder="_gen_efficientnet('efficientnet_b0', channel_multiplier=0.1, depth_multiplier=0.34)",
              chain="linear,batchnorm,silu,linear"))

    def luke_head(model, c):
        model._fc = nn.Sequential(nn.Linear(c, 16), nn.GELU(), nn.Linear(16, 5))
        return model._fc

    case("luke_gelu", 2, lambda: build_lukemelas(0.25, 0.34, 1000), luke_head, torch_save,
         dict(family="lukemelas", builder="EfficientNet.from_name('efficientnet-b0', width_coefficient=0.25, depth_coefficient=0.34)",
              chain="linear,gelu,linear"))

    def seed_head(model, c):
        model.head[6] = nn.Sequential(nn.Linear(c, 16), nn.Sigmoid(), nn.Dropout(0.1), nn.Linear(16, 4))
        return model.head[6]

    case("seed_sigmoid", 3, lambda: EfficientNetB0MiniReduced(num_classes=10, div=16), seed_head, torch_save,
         dict(family="seed", builder="EfficientNetB0Mini, channels divided by 16", chain="linear,sigmoid,dropout,linear"))

    def hf_build():
        from generate_hf import build
        return build([], 1400 + 4)

    def hf_head(model, c):
        model.classifier = nn.Sequential(nn.Linear(c, 12), nn.ReLU(), nn.Linear(12, 7))
        return model.classifier

    def hf_save(model, folder):
        model.save_pretrained(folder)

    case("hf_mlp", 4, hf_build, hf_head, hf_save,
         dict(family="hf", builder="EfficientNetForImageClassification(width 0.25, depth 0.34, 7 labels)",
              chain="linear,relu,linear"))

    # Someone's own module names for tv_mlp's weights: what --names must undo.
    folder = fresh("renamed")
    names = {}
    renamed = {}
    for k, v in tv.state_dict().items():
        if k.startswith("features.0."):
            new = "net.stem." + k[len("features.0."):]
        elif k.startswith("features."):
            new = "net.body." + k[len("features."):]
        elif k.startswith("classifier."):
            new = "head.mlp." + k[len("classifier."):]
        else:
            new = k
        renamed[new] = v
        names[new] = k
    torch.save(renamed, os.path.join(folder, "weights.pth"))
    save_npy(os.path.join(folder, "input.npy"), x)
    save_npy(os.path.join(folder, "expected.npy"), run(tv))
    # The map: prefixes, longest first; one exact name to show the form.
    write_json(os.path.join(folder, "names.json"), {
        "family": "torchvision",
        "prefixes": {"net.stem.": "features.0.", "net.body.": "features.", "head.mlp.": "classifier."},
        "names": {"head.mlp.4.weight": "classifier.4.weight"},
    })
    write_json(os.path.join(folder, "info.json"), {"from": "tv_mlp", "renamed": len(names), "torch": torch.__version__,
                                                   "chain": "dropout,linear,relu,dropout,linear"})

    # Someone's own EfficientNet class with flat block names and timm-tf's conventions (TF "SAME"
    # padding, BN eps 1e-3): a --names map onto canonical roles, written as a user would script
    # it, needs no knowledge of timm's stage numbering.
    def keep_linear(model, c):
        model.classifier = nn.Linear(c, 9)
        return nn.ModuleList([model.classifier])

    roles_model = case("roles", 5, lambda: build_timm(0.25, 0.34, 1000, tf=True), keep_linear, lambda m, f: None,
                       dict(family="timm-tf", builder="_gen_efficientnet('tf_efficientnet_b0', channel_multiplier=0.25, depth_multiplier=0.34, bn_eps=1e-3, pad_type='same')"))
    folder = os.path.join(OUT, "roles")
    # timm module -> (the user's module, the role), block by block in execution order.
    modules = {"conv_stem": ("encoder.stem.0", "stem.conv"), "bn1": ("encoder.stem.1", "stem.bn"),
               "conv_head": ("encoder.top.0", "head.conv"), "bn2": ("encoder.top.1", "head.bn"),
               "classifier": ("fc", "classifier")}
    flat = 0
    for si, stage in enumerate(roles_model.blocks):
        for bi, block in enumerate(stage):
            p, u, r = f"blocks.{si}.{bi}", f"encoder.layers.{flat}", f"blocks.{flat}"
            parts = ({"conv_pw": "expand.0", "bn1": "expand.1", "conv_dw": "dw.0", "bn2": "dw.1", "conv_pwl": "project.0", "bn3": "project.1"}
                     if hasattr(block, "conv_pwl") else
                     {"conv_dw": "dw.0", "bn1": "dw.1", "conv_pw": "project.0", "bn2": "project.1"})
            parts.update({"se.conv_reduce": "se.fc1", "se.conv_expand": "se.fc2"})
            role = {"expand.0": "expand.conv", "expand.1": "expand.bn", "dw.0": "depthwise.conv", "dw.1": "depthwise.bn",
                    "project.0": "project.conv", "project.1": "project.bn", "se.fc1": "se.reduce", "se.fc2": "se.expand"}
            for t, mine in parts.items():
                modules[f"{p}.{t}"] = (f"{u}.{mine}", f"{r}.{role[mine]}")
            flat += 1
    own = {}
    for k, v in roles_model.state_dict().items():
        module, leaf = k.rsplit(".", 1)
        own[f"{modules[module][0]}.{leaf}"] = v
    torch.save(own, os.path.join(folder, "weights.pth"))
    prefixes = {f"{mine}.": f"{role}." for mine, role in modules.values()}
    write_json(os.path.join(folder, "names.json"), {
        "comment": "someone's own EfficientNet class (flat encoder.layers.N) onto the canonical roles; its code follows timm-tf's conventions",
        "family": "canonical", "conventions": "timm-tf", "prefixes": prefixes})
    write_json(os.path.join(folder, "names_no_conventions.json"), {
        "comment": "the same map without conventions: a reference pair decides among the PyTorch families",
        "family": "canonical", "prefixes": prefixes})


# ---------------------------------------------------------------------------------------------
# Keras

def keras_cases():
    import keras
    from keras import layers
    sys.path.insert(0, HERE)
    from generate_keras import images, randomise

    def base(seed, name):
        from keras.src.applications import efficientnet as E
        keras.utils.set_random_seed(seed)
        return E.EfficientNet(0.1, 0.34, 64, include_top=False, weights=None, input_shape=(64, 64, 3), name=name)

    rng = np.random.default_rng(20261208)

    def prepare(model):
        bns = randomise([l for l in model._flatten_layers() if l is not model], rng, layers.BatchNormalization,
                        (layers.Conv2D, layers.Dense), lambda bn, m: setattr(bn, "momentum", m))
        for _ in range(2):
            model(images(rng, 8, 64, 64), training=True)
        for bn in bns:
            bn.momentum = 0.99

    x = images(rng, 2, 64, 64)

    def sharpen(model, dense, softmax):
        """Scales the last Dense so that the fixture's own rows spread over ~2 units (the base's
        features vary a lot between images: a softmax output stays informative)."""
        kernel, bias = dense.get_weights()
        before = keras.Model(model.inputs, dense.input)(x, training=False)
        spread = float(np.max(np.std(np.asarray(before) @ kernel, axis=1)))
        dense.set_weights([kernel * (2.0 / spread), bias])

    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def finish(name, model, files, facts):
        folder = fresh(name)
        y = np.asarray(model(x, training=False))
        for f in files:
            model.save(os.path.join(folder, f)) if not f.endswith(".weights.h5") else model.save_weights(os.path.join(folder, f))
        again = keras.saving.load_model(os.path.join(folder, files[0]))
        err = float(np.abs(np.asarray(again(x, training=False)) - y).max())
        assert err < 1e-5, err
        save_npy(os.path.join(folder, "input.npy"), x_nchw)
        save_npy(os.path.join(folder, "expected.npy"), y)
        write_json(os.path.join(folder, "info.json"), dict(facts, keras=keras.__version__, output_shape=list(y.shape)))
        log(name, y.shape, float(np.abs(y).max()))

    # keras.io's "Image classification via fine-tuning with EfficientNet" top.
    inputs = layers.Input(shape=(64, 64, 3))
    keras.utils.set_random_seed(31)
    from keras.src.applications import efficientnet as E
    b = E.EfficientNet(0.1, 0.34, 64, include_top=False, weights=None, input_tensor=inputs)
    t = layers.GlobalAveragePooling2D(name="avg_pool")(b.output)
    t = layers.BatchNormalization()(t)
    t = layers.Dropout(0.2, name="top_dropout")(t)
    out = layers.Dense(8, activation="softmax", name="pred")(t)
    tutorial = keras.Model(inputs, out, name="EfficientNet")
    prepare(tutorial)
    bn = tutorial.layers[-3]
    g, bb, m, v = bn.get_weights()
    bn.set_weights([rng.uniform(0.6, 1.4, g.shape).astype("float32"), rng.normal(0, 0.2, bb.shape).astype("float32"),
                    m, v])
    sharpen(tutorial, tutorial.get_layer("pred"), True)
    finish("keras_tutorial", tutorial, ["model.keras", "model.weights.h5"],
           dict(layout="base(input_tensor) -> GlobalAveragePooling2D -> BatchNormalization -> Dropout -> Dense(8, softmax)",
                chain="batchnorm,dropout,linear,softmax"))

    nested = base(32, "efficientnet_base")
    mlp = keras.Sequential([keras.Input((64, 64, 3)), nested, layers.GlobalAveragePooling2D(),
                            layers.Dense(32, activation="relu"), layers.Dropout(0.3), layers.Dense(5)])
    prepare(mlp)
    sharpen(mlp, mlp.layers[-1], False)
    finish("keras_mlp", mlp, ["model.keras", "model.weights.h5"],
           dict(layout="Sequential([EfficientNet base, GlobalAveragePooling2D, Dense(32, relu), Dropout, Dense(5)])",
                chain="linear,relu,dropout,linear"))


def main():
    what = sys.argv[1:] or ["torch"]
    os.makedirs(OUT, exist_ok=True)
    if "torch" in what:
        torch_cases()
    if "keras" in what:
        keras_cases()


if __name__ == "__main__":
    main()

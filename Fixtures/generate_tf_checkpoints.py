#!/usr/bin/env python3
"""Generates the TensorFlow checkpoint (tensor bundle) fixtures of EffNetKit (issue 20).

Run with a virtual environment holding tensorflow-cpu and crc32c, naming the Python of a second
one holding torch and timm (never needed by CI; the outputs are committed):

    TF_PYTHON/bin/python Fixtures/generate_tf_checkpoints.py --torch-python TORCH_PYTHON/bin/python

How the references are made: timm's `tf_efficientnet_*` / `tf_efficientnet_lite*` models are
exact ports of the official tensorflow/tpu EfficientNets (TF "SAME" padding from the actual
input, BN eps 1e-3). A tiny scaled model of each is built in timm (phase `torch`, run in the
torch environment), its BN statistics randomised (random affine, statistics from train-mode
passes, RECIPES.md), and its weights written out under the official tensorflow/tpu variable
names and layouts (HWIO kernels, depthwise [k,k,C,1], dense [in,out]). timm's output on a random
already-normalised NCHW batch is the reference. Then TensorFlow's own tf.compat.v1 Saver writes
the checkpoint, with everything the official training leaves beside the weights:
ExponentialMovingAverage copies of every trainable variable and every BN moving statistic
(holding the timm weights), raw variables (the timm weights plus noise, so that reading them
instead of the EMA copies must fail verification), RMSProp slots and global_step.

Writes Fixtures/tf/<case>/:
    model.ckpt-1.index, model.ckpt-1.data-00000-of-00001, checkpoint   the bundle (TF's Saver)
    input.npy       [2, 3, 61, 61] float32, already normalised (as timm's tf_ ports take it)
    output.npy      timm's logits for input.npy from the weights the conversion should pick
    raw_output.npy  (EMA cases) timm's logits from the raw variables
    variables.json  every variable's name, dtype and shape as TensorFlow lists them
Cases: official_b0 (V1 names, EMA), official_lite (Lite names, EMA), user_no_ema (V1 names,
no EMA copies: the raw variables are the weights), and crc32c_vectors.json (Python's crc32c).

google/automl EfficientNetV2 (only this case, the others untouched):
    TF_PYTHON generate_tf_checkpoints.py automl --torch-python TORCH_PYTHON
writes Fixtures/tf/automl_v2/ as above (EMA copies, raw variables, RMSProp slots, global_step)
from a small timm EfficientNetV2 with automl's conventions (`automl_v2_model`) under automl's
names (effnetv2_model.py: `efficientnetv2-s/blocks_K/conv2d`, `conv2d_1`,
`tpu_batch_normalization[_N]` numbered in creation order; fused blocks have no
depthwise_conv2d), plus shapes.json: names and shapes, no values, of full-size automl S, B3 and
XL from timm's tf_efficientnetv2_* ports (phase automl-shapes, torch environment).

Benchmark data (not a fixture, never committed):
    TF_PYTHON generate_tf_checkpoints.py bench --torch-python TORCH_PYTHON --out DIR
writes DIR/model.ckpt-1.* in the official layout at full EfficientNet-B7 size (timm's
tf_efficientnet_b7 shapes, random values) with EMA copies, RMSProp slots and global_step.

TF2 object-based cases (phase tf only; reference from the Keras model reloaded from the files):
    tf2_keras/        tf.train.Checkpoint(model=m).write() of a small keras.applications
                      EfficientNet (Keras 3): ckpt.index, ckpt.data-*, input.npy (NCHW, 0-255),
                      output.npy (softmax, from a fresh model restored with checkpoint.read)
    keras_savedmodel/ the same model's model.export() SavedModel: its variables/ bundle (the
                      ~1 MB graph, never read, is replaced by an empty saved_model.pb), same
                      input.npy and output.npy (from tf.saved_model.load's serve())
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "tf"
CLASSES = 10
INPUT_SHAPE = (2, 3, 61, 61)


# ---------------------------------------------------------------- phase torch (timm) ------------

def timm_model(lite, seed):
    import torch
    from functools import partial
    from timm.models import efficientnet as e
    from timm.models._efficientnet_builder import decode_arch_def, round_channels
    torch.manual_seed(seed)
    width, depth = 0.15, 0.3
    if lite:
        arch = [['ds_r1_k3_s1_e1_c16'], ['ir_r2_k3_s2_e6_c24'], ['ir_r2_k5_s2_e6_c40'], ['ir_r3_k3_s2_e6_c80'],
                ['ir_r3_k5_s1_e6_c112'], ['ir_r4_k5_s2_e6_c192'], ['ir_r1_k3_s1_e6_c320']]
        # timm's _gen_efficientnet_lite with the head narrowed (256 instead of the fixed 1280) to
        # keep the fixture small; stem fixed at 32 and first/last stage repeats unscaled as in Lite.
        model = e.EfficientNet(block_args=decode_arch_def(arch, depth, fix_first_last=True), num_features=256,
                               stem_size=32, fix_stem=True, round_chs_fn=partial(round_channels, multiplier=width),
                               act_layer=torch.nn.ReLU6, norm_layer=partial(torch.nn.BatchNorm2d, eps=1e-3),
                               pad_type='same', num_classes=CLASSES)
    else:
        model = e._gen_efficientnet('tf_efficientnet_b0', channel_multiplier=width, depth_multiplier=depth,
                                    pretrained=False, num_classes=CLASSES, bn_eps=1e-3, pad_type='same')
    randomise(model, seed)
    return model


def automl_v2_model(seed):
    """A small EfficientNetV2 in timm with google/automl's conventions (effnetv2_model.py:
    TF "SAME" padding, BN eps 1e-3 as hparams.py's bn_epsilon, SiLU, SE a quarter of the block
    input on MBConv only). The stage table is EfficientNetV2-S's (`v2_s_block`: fused e1 with a
    residual, two fused e4 stages, MBConv e4/e6 with SE, one stride-1 stage) with the channels
    and repeats cut down to keep the fixture small, and a narrow head."""
    import torch
    from functools import partial
    from timm.models import efficientnet as e
    from timm.models._efficientnet_builder import decode_arch_def
    torch.manual_seed(seed)
    arch = [['cn_r2_k3_s1_e1_c8_skip'], ['er_r1_k3_s2_e4_c16'], ['er_r1_k3_s2_e4_c24'],
            ['ir_r1_k3_s2_e4_c32_se0.25'], ['ir_r2_k3_s1_e6_c40_se0.25'], ['ir_r1_k3_s2_e6_c48_se0.25']]
    model = e.EfficientNet(block_args=decode_arch_def(arch), num_features=128, stem_size=8,
                           act_layer=torch.nn.SiLU, norm_layer=partial(torch.nn.BatchNorm2d, eps=1e-3),
                           pad_type='same', num_classes=CLASSES)
    randomise(model, seed)
    return model


def randomise(model, seed):
    import torch
    gen = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(torch.empty_like(m.weight).uniform_(0.6, 1.4, generator=gen))
            m.bias.copy_(torch.empty_like(m.bias).uniform_(-0.3, 0.3, generator=gen))
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.copy_(torch.empty_like(m.bias).uniform_(-0.3, 0.3, generator=gen))
        model.classifier.weight.mul_(4.0)
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 61, 61, generator=gen))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def official_names(model, root):
    """The timm model's tensors under tensorflow/tpu's names, in TF layouts (numpy)."""
    from timm.models._efficientnet_blocks import ConvBnAct, DepthwiseSeparableConv, EdgeResidual, InvertedResidual
    out = {}

    def conv(name, w):  # OIHW -> HWIO
        out[f"{root}/{name}/kernel"] = w.detach().numpy().transpose(2, 3, 1, 0)

    def dw(name, w):  # C1HW -> HWC1
        out[f"{root}/{name}/depthwise_kernel"] = w.detach().numpy().transpose(2, 3, 0, 1)

    def bn(name, m):
        for tf_name, t in [("gamma", m.weight), ("beta", m.bias), ("moving_mean", m.running_mean),
                           ("moving_variance", m.running_var)]:
            out[f"{root}/{name}/{tf_name}"] = t.detach().numpy()

    def se(prefix, m):
        if not hasattr(m, "se") or not hasattr(m.se, "conv_reduce"):
            return
        conv(f"{prefix}/se/conv2d", m.se.conv_reduce.weight)
        out[f"{root}/{prefix}/se/conv2d/bias"] = m.se.conv_reduce.bias.detach().numpy()
        conv(f"{prefix}/se/conv2d_1", m.se.conv_expand.weight)
        out[f"{root}/{prefix}/se/conv2d_1/bias"] = m.se.conv_expand.bias.detach().numpy()

    conv("stem/conv2d", model.conv_stem.weight)
    bn("stem/tpu_batch_normalization", model.bn1)
    k = 0
    for stage in model.blocks:
        for b in stage:
            p = f"blocks_{k}"
            if isinstance(b, InvertedResidual):
                conv(f"{p}/conv2d", b.conv_pw.weight)
                bn(f"{p}/tpu_batch_normalization", b.bn1)
                dw(f"{p}/depthwise_conv2d", b.conv_dw.weight)
                bn(f"{p}/tpu_batch_normalization_1", b.bn2)
                se(p, b)
                conv(f"{p}/conv2d_1", b.conv_pwl.weight)
                bn(f"{p}/tpu_batch_normalization_2", b.bn3)
            elif isinstance(b, EdgeResidual):
                # google/automl FusedMBConvBlock with expansion: k x k conv2d, then 1x1 conv2d_1.
                conv(f"{p}/conv2d", b.conv_exp.weight)
                bn(f"{p}/tpu_batch_normalization", b.bn1)
                se(p, b)
                conv(f"{p}/conv2d_1", b.conv_pwl.weight)
                bn(f"{p}/tpu_batch_normalization_1", b.bn2)
            elif isinstance(b, ConvBnAct):
                # google/automl FusedMBConvBlock at expand ratio 1: one k x k conv2d.
                conv(f"{p}/conv2d", b.conv.weight)
                bn(f"{p}/tpu_batch_normalization", b.bn1)
            else:
                assert isinstance(b, DepthwiseSeparableConv)
                dw(f"{p}/depthwise_conv2d", b.conv_dw.weight)
                bn(f"{p}/tpu_batch_normalization", b.bn1)
                se(p, b)
                conv(f"{p}/conv2d", b.conv_pw.weight)
                bn(f"{p}/tpu_batch_normalization_1", b.bn2)
            k += 1
    conv("head/conv2d", model.conv_head.weight)
    bn("head/tpu_batch_normalization", model.bn2)
    out[f"{root}/head/dense/kernel"] = model.classifier.weight.detach().numpy().T
    out[f"{root}/head/dense/bias"] = model.classifier.bias.detach().numpy()
    return {k: v.astype("float32").copy() for k, v in out.items()}


def load_official(model, weights, root):
    """Writes official-named numpy weights back into the timm model (the inverse of above)."""
    import torch
    ref = official_names(model, root)
    sd = model.state_dict()
    # Walk both name lists in the same order: official_names visits tensors in a fixed order.
    # Rebuild by mapping each timm tensor to its official name through identity of values.
    by_official = {}
    for (name, arr) in ref.items():
        by_official[name] = arr
    # A second pass pairs each timm parameter with its official name via official_names' order.
    order = list(ref.keys())
    timm_order = timm_tensor_order(model)
    assert len(order) == len(timm_order), (len(order), len(timm_order))
    with torch.no_grad():
        for official, (timm_name, transpose) in zip(order, timm_order):
            value = weights[official]
            if transpose is not None:
                value = value.transpose(transpose)
            sd[timm_name].copy_(torch.from_numpy(value.copy()))


def timm_tensor_order(model):
    """timm state-dict names in official_names' order, with the transpose from TF layout back."""
    from timm.models._efficientnet_blocks import ConvBnAct, EdgeResidual, InvertedResidual
    hwio, hwc1, bnkeys = (3, 2, 0, 1), (2, 3, 0, 1), ["weight", "bias", "running_mean", "running_var"]
    order = []

    def conv(n):
        order.append((f"{n}.weight", hwio))

    def bn(n):
        order.extend((f"{n}.{s}", None) for s in bnkeys)

    def se(n, b):
        if hasattr(b, "se") and hasattr(b.se, "conv_reduce"):
            order.extend([(f"{n}.se.conv_reduce.weight", hwio), (f"{n}.se.conv_reduce.bias", None),
                          (f"{n}.se.conv_expand.weight", hwio), (f"{n}.se.conv_expand.bias", None)])

    conv("conv_stem")
    bn("bn1")
    for s, stage in enumerate(model.blocks):
        for i, b in enumerate(stage):
            n = f"blocks.{s}.{i}"
            if isinstance(b, InvertedResidual):
                conv(f"{n}.conv_pw"); bn(f"{n}.bn1")
                order.append((f"{n}.conv_dw.weight", hwc1)); bn(f"{n}.bn2")
                se(n, b)
                conv(f"{n}.conv_pwl"); bn(f"{n}.bn3")
            elif isinstance(b, EdgeResidual):
                conv(f"{n}.conv_exp"); bn(f"{n}.bn1")
                se(n, b)
                conv(f"{n}.conv_pwl"); bn(f"{n}.bn2")
            elif isinstance(b, ConvBnAct):
                conv(f"{n}.conv"); bn(f"{n}.bn1")
            else:
                order.append((f"{n}.conv_dw.weight", hwc1)); bn(f"{n}.bn1")
                se(n, b)
                conv(f"{n}.conv_pw"); bn(f"{n}.bn2")
    conv("conv_head")
    bn("bn2")
    order.extend([("classifier.weight", (1, 0)), ("classifier.bias", None)])
    return order


def phase_shapes(work):
    """Official names and TF shapes of a full-size tf_efficientnet_b7 (for the benchmark)."""
    from timm.models import efficientnet as e
    model = e._gen_efficientnet('tf_efficientnet_b7', channel_multiplier=2.0, depth_multiplier=3.1,
                                pretrained=False, bn_eps=1e-3, pad_type='same')
    shapes = {k: list(v.shape) for k, v in official_names(model, "efficientnet-b7").items()}
    (Path(work) / "b7_shapes.json").write_text(json.dumps(shapes))


def phase_automl_shapes():
    """Fixtures/tf/automl_v2/shapes.json: the variable names and TF shapes (no values) of
    full-size google/automl EfficientNetV2-S, -B3 and -XL (1000 classes), from timm's
    tf_efficientnetv2_* ports under automl's names, for the preset and stage tests."""
    import timm
    out = {}
    for variant in ["s", "b3", "xl"]:
        model = timm.create_model(f"tf_efficientnetv2_{variant}", pretrained=False, num_classes=1000)
        out[f"efficientnetv2-{variant}"] = [[k, list(v.shape)] for k, v in
                                            official_names(model, f"efficientnetv2-{variant}").items()]
        del model
    (OUT / "automl_v2" / "shapes.json").write_text(
        "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in out.items()) + "\n}\n")


def bench(out, torch_python):
    import numpy as np
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([torch_python, __file__, "shapes", "--work", str(out)], check=True)
    shapes = json.loads((out / "b7_shapes.json").read_text())
    rng = np.random.default_rng(7)
    weights = {}
    for k, shape in shapes.items():
        v = rng.standard_normal(shape).astype(np.float32) * 0.05
        weights[k] = np.abs(v) + 0.5 if k.endswith("moving_variance") else v
    # TensorFlow's bundle writer directly (SaveV2, eager): the Saver graph of write_checkpoint
    # takes far too long at this size. Same keys as the Saver writes: variables, their EMA
    # copies, RMSProp slots, global_step.
    import tensorflow as tf
    names, tensors = [], []
    for k, v in weights.items():
        t = tf.constant(v)
        for suffix in ["", "/ExponentialMovingAverage", "/RMSProp", "/RMSProp_1"]:
            names.append(k + suffix)
            tensors.append(t)
    names.append("global_step")
    tensors.append(tf.constant(1, tf.int64))
    tf.raw_ops.SaveV2(prefix=str(out / "model.ckpt-1"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
    (out / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    (out / "b7_shapes.json").unlink()


def phase_torch(work, automl=False):
    import numpy as np
    import torch
    work = Path(work)
    rng = np.random.default_rng(20)
    x = rng.standard_normal(INPUT_SHAPE).astype(np.float32)
    cases = [("official_b0", False, "efficientnet-b0", 1), ("official_lite", True, "efficientnet-lite0", 2),
             ("user_no_ema", False, "efficientnet-b0", 3)]
    if automl:
        cases = [("automl_v2", None, "efficientnetv2-s", 4)]
    for case, lite, root, seed in cases:
        model = automl_v2_model(seed) if lite is None else timm_model(lite, seed)
        weights = official_names(model, root)
        with torch.no_grad():
            out = model(torch.from_numpy(x)).numpy()
        # Raw variables: the same weights plus noise (what training holds before averaging).
        raw = {k: (v + rng.standard_normal(v.shape).astype(np.float32) * (0.05 * (np.abs(v).mean() + 0.05))).astype(np.float32)
               if not k.endswith("moving_variance") else (v * rng.uniform(0.8, 1.25, v.shape)).astype(np.float32)
               for k, v in weights.items()}
        load_official(model, raw, root)
        with torch.no_grad():
            raw_out = model(torch.from_numpy(x)).numpy()
        # Round trip: loading the EMA weights back gives the reference output again.
        load_official(model, weights, root)
        with torch.no_grad():
            again = model(torch.from_numpy(x)).numpy()
        assert np.array_equal(again, out)
        np.savez(work / f"{case}.npz", **{"ema/" + k: v for k, v in weights.items()},
                 **{"raw/" + k: v for k, v in raw.items()})
        np.save(work / f"{case}_input.npy", x)
        np.save(work / f"{case}_output.npy", out)
        np.save(work / f"{case}_raw_output.npy", raw_out)
        print(case, "max |ema - raw| logits:", float(np.abs(out - raw_out).max()))


# ---------------------------------------------------------------- phase tf (Saver) --------------

def write_checkpoint(case_dir, weights, raw, with_ema):
    import numpy as np
    import tensorflow as tf
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        variables = {}
        for name in weights:
            stat = name.endswith("moving_mean") or name.endswith("moving_variance")
            variables[name] = tf1.get_variable(name, initializer=tf.constant(raw[name]), trainable=not stat)
        global_step = tf1.train.get_or_create_global_step()
        trainable = [v for n, v in variables.items() if not (n.endswith("moving_mean") or n.endswith("moving_variance"))]
        loss = tf.add_n([tf.reduce_sum(tf.square(v)) for v in trainable]) * 1e-6
        opt = tf1.train.RMSPropOptimizer(1e-6, decay=0.9, momentum=0.9, epsilon=1e-3)
        train = opt.minimize(loss, global_step=global_step, var_list=trainable)
        ema = None
        if with_ema:
            # As the official main.py: every trainable variable and every BN moving statistic.
            ema = tf1.train.ExponentialMovingAverage(decay=0.9999, num_updates=global_step)
            ema_vars = trainable + [v for n, v in variables.items() if n not in [t.op.name for t in trainable]]
            with tf.control_dependencies([train]):
                train = ema.apply(ema_vars)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run(train)
            # The step moved the raw variables a little: set them back, and the EMA copies to the
            # reference weights.
            for name, v in variables.items():
                v.load(raw[name], sess)
                if ema is not None:
                    ema.average(v).load(weights[name], sess)
            saver = tf1.train.Saver(max_to_keep=1)
            # Saved from inside the folder so that the `checkpoint` file names the prefix relatively.
            cwd = os.getcwd()
            os.chdir(case_dir)
            try:
                saver.save(sess, "model.ckpt", global_step=global_step, write_meta_graph=False)
            finally:
                os.chdir(cwd)
    listing = [{"name": n, "shape": s, "dtype": str(tf.train.load_checkpoint(str(case_dir / "model.ckpt-1")).get_variable_to_dtype_map()[n].name)}
               for n, s in sorted(tf.train.list_variables(str(case_dir / "model.ckpt-1")))]
    (case_dir / "variables.json").write_text("[\n" + ",\n".join(json.dumps(v) for v in listing) + "\n]\n")
    # The checkpoint file TF writes names the prefix relative to the folder; keep it portable.
    text = (case_dir / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt-1"' in text, text


def tf2_cases():
    """A keras.applications EfficientNet (Keras 3, width 0.1, depth 0.25, 64x64, 10 classes) with
    random BN statistics, as a TF2 object-based checkpoint and as a SavedModel."""
    import numpy as np
    import tensorflow as tf
    import keras
    from keras.src.applications import efficientnet as E

    def build(seed):
        keras.utils.set_random_seed(seed)
        return E.EfficientNet(0.1, 0.25, 64, weights=None, classes=10, name="tf2_tiny", input_shape=(64, 64, 3))

    rng = np.random.default_rng(5)
    m = build(0)
    bns = [l for l in m.layers if isinstance(l, keras.layers.BatchNormalization)]
    for l in m.layers:
        if isinstance(l, keras.layers.BatchNormalization):
            g, b, mm, v = l.get_weights()
            l.set_weights([rng.uniform(0.6, 1.4, g.shape).astype("float32"), rng.normal(0, 0.2, b.shape).astype("float32"), mm, v])
        elif isinstance(l, (keras.layers.Conv2D, keras.layers.Dense)) and getattr(l, "use_bias", False):
            w = l.get_weights()
            w[1] = rng.normal(0, 0.1, w[1].shape).astype("float32")
            l.set_weights(w)
    for bn in bns:
        bn.momentum = 0.0
    for _ in range(2):
        m(rng.uniform(0, 255, (8, 64, 64, 3)).astype("float32"), training=True)
    for bn in bns:
        bn.momentum = 0.99
    # Logits spread over about 3 units, so the softmax output is far from uniform and from one-hot.
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    dense = m.get_layer("predictions")
    features = np.asarray(keras.Model(m.inputs, m.get_layer("avg_pool").output)(
        rng.uniform(0, 255, (16, 64, 64, 3)).astype("float32"), training=False))
    k, b = dense.get_weights()
    dense.set_weights([k * (3.0 / float(np.median(np.std(features @ k, axis=1)))), b])

    d = OUT / "tf2_keras"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    tf.train.Checkpoint(model=m).write(str(d / "ckpt"))
    m2 = build(99)
    tf.train.Checkpoint(model=m2).read(str(d / "ckpt")).expect_partial()
    y = np.asarray(m2(x, training=False))
    assert np.abs(y - np.asarray(m(x, training=False))).max() < 1e-5
    np.save(d / "input.npy", np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.save(d / "output.npy", y.astype("float32"))

    s = OUT / "keras_savedmodel"
    shutil.rmtree(s, ignore_errors=True)
    m.export(str(s), verbose=False)
    loaded = tf.saved_model.load(str(s))
    y2 = np.asarray(loaded.serve(tf.constant(x)))
    assert np.abs(y2 - y).max() < 1e-5, np.abs(y2 - y).max()
    # The graph (about 1 MB) is not read by EffNetKit: only the variables bundle is kept, with
    # an empty saved_model.pb marking the folder as a SavedModel.
    (s / "saved_model.pb").write_bytes(b"")
    shutil.rmtree(s / "assets", ignore_errors=True)
    (s / "fingerprint.pb").unlink(missing_ok=True)
    np.save(s / "input.npy", np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.save(s / "output.npy", y2.astype("float32"))
    print("tf2: max prob per row", y.max(1))


def crc_vectors():
    import crc32c

    def mask(c):
        return ((((c >> 15) | (c << 17)) & 0xffffffff) + 0xa282ead8) & 0xffffffff
    out = []
    for text, pad, count in [("", 0, 0), ("a", 0, 0), ("123456789", 0, 0), ("EffNetKit", 0, 1000),
                             ("tensor bundle", 255, 37), ("", 7, 4096)]:
        data = text.encode() + bytes([pad]) * count
        c = crc32c.crc32c(data)
        out.append({"text": text, "pad": pad, "padCount": count, "crc32c": c, "masked": mask(c)})
    (OUT / "crc32c_vectors.json").write_text(json.dumps(out, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", nargs="?", default="tf", choices=["tf", "torch", "tf2", "shapes", "bench", "automl", "automl-torch", "automl-shapes"])
    ap.add_argument("--out", help="bench: the folder to write the B7-size checkpoint into")
    ap.add_argument("--work")
    ap.add_argument("--torch-python", help="the Python of an environment with torch and timm")
    a = ap.parse_args()
    if a.phase in ("torch", "automl-torch"):
        phase_torch(a.work, automl=a.phase == "automl-torch")
        return
    if a.phase == "automl-shapes":
        phase_automl_shapes()
        return
    if a.phase == "shapes":
        phase_shapes(a.work)
        return
    if a.phase == "bench":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        bench(a.out, a.torch_python)
        return
    if a.phase == "tf2":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        tf2_cases()
        return
    if not a.torch_python:
        sys.exit("error: --torch-python is required (an environment with torch and timm)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = OUT / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if a.phase == "automl":
        subprocess.run([a.torch_python, __file__, "automl-torch", "--work", str(work)], check=True)
        write_case(work, "automl_v2", True)
        subprocess.run([a.torch_python, __file__, "automl-shapes"], check=True)
        shutil.rmtree(work)
        return
    subprocess.run([a.torch_python, __file__, "torch", "--work", str(work)], check=True)
    for case, with_ema in [("official_b0", True), ("official_lite", True), ("user_no_ema", False)]:
        write_case(work, case, with_ema)
    crc_vectors()
    tf2_cases()
    shutil.rmtree(work)


def write_case(work, case, with_ema):
    """Fixtures/tf/<case>/ from phase torch's outputs: the checkpoint through TF's Saver."""
    import numpy as np
    d = OUT / case
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    z = np.load(work / f"{case}.npz")
    ema = {k[4:]: z[k] for k in z.files if k.startswith("ema/")}
    raw = {k[4:]: z[k] for k in z.files if k.startswith("raw/")}
    if with_ema:
        write_checkpoint(d, ema, raw, True)
        shutil.copy(work / f"{case}_raw_output.npy", d / "raw_output.npy")
    else:
        # A user's own checkpoint: no averaging, the variables are the weights.
        write_checkpoint(d, ema, ema, False)
    shutil.copy(work / f"{case}_input.npy", d / "input.npy")
    shutil.copy(work / f"{case}_output.npy", d / "output.npy")


if __name__ == "__main__":
    main()

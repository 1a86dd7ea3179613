#!/usr/bin/env python3
"""Reference pairs for the verification pass's precision (issue 16): a deep EfficientNet run by
PyTorch in float64 (the "truth") and in float32 (what a user's --check-output holds).

Run with a venv that has torch and torchvision (never needed by CI; the fixture is committed):

    python Fixtures/generate_precision.py                 # -> Fixtures/precision/b7_narrow/
    python Fixtures/generate_precision.py measure --arch efficientnet_b7 --size 600 --out DIR
    python Fixtures/generate_precision.py measure --family timm --arch efficientnet_b2 --size 288 --out DIR

The committed fixture is torchvision's EfficientNet-B7 at full depth (depth multiplier 3.1, 55
blocks) and 600 x 600 input, at width 0.2 so that its state dict stays small (the real B7's is
267 MB). Its input is the converter's own probe batch (Verifier.probeInput: splitmix64, sums of four
uniforms), recomputed here bit for bit, so no 4 MB input file is stored. Files:
    model.pth          the state dict (torch.save)
    truth_f64.npy      PyTorch's float64 logits for the probe batch (weights are the float32 ones)
    torch_f32.npy      PyTorch's float32 logits for the same batch
    case.json          sizes and PyTorch's own float32 error against float64

`measure` writes the same for a full-size model (plus input.npy, the probe batch) into DIR, for
local measurements that are never committed (B7 at 600 px, timm B2, ...). Its BN weights default
to 0.5...1.5: at full width, 1...3 makes B7's activations explode (logits ~36000, PyTorch's own
float32 result 58% off its float64 one).

Batch-norm statistics are randomised (random affine parameters, running statistics from train-mode
passes with momentum None) so that a wrong epsilon or padding shows; every bias is made nonzero.
The BN weights are wide (1...3) so that activations grow with depth as in trained models.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

OUT = Path(__file__).resolve().parent / "precision"


def probe_input(shape, seed=0x5EED):
    """Verifier.probeInput(shape:rawPixels: false): splitmix64 -> [0, 1) floats, sum of four,
    centred and scaled, all in float32 exactly as the Swift code computes it."""
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as Swift's &+ and &*
        k = np.arange(1, 4 * n + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    u = u.reshape(n, 4)
    s = ((u[:, 0] + u[:, 1]) + u[:, 2]) + u[:, 3]
    return ((s - np.float32(2)) * np.float32(1.7320508)).astype(np.float32).reshape(shape)


def build(family, arch, width, depth, classes, real=False):
    """`real`: torchvision's own builder for `arch` (B5-B7 use BN eps 1e-3 there, as the converter
    expects of those shapes); else the EfficientNet class at any width/depth (eps 1e-5)."""
    if family == "torchvision" and real:
        import torchvision
        return getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    if family == "torchvision":
        from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
        setting, last = _efficientnet_conf(arch, width_mult=width, depth_mult=depth)
        return EfficientNet(setting, dropout=0.2, num_classes=classes, last_channel=last)
    import timm
    return timm.create_model(arch, pretrained=False, num_classes=classes)


def randomise(model, size, seed, gamma, beta):
    """BN weights uniform in `gamma`, biases normal with deviation `beta`. Wide gammas let the
    residual stream grow through the blocks as in trained models (gamma 1...3: logits ~40 and
    PyTorch's float32 error ~20x that of gamma 0.5...1.5), which is what makes float32 rounding
    matter."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.num_features, generator=g) * (gamma[1] - gamma[0]) + gamma[0])
            bn.bias.copy_(torch.randn(bn.num_features, generator=g) * beta)
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for _ in range(2):
            model(torch.randn(2, 3, size, size, generator=g) * 1.5 + 0.2)
        for bn in bns:
            bn.momentum = 0.1
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


def write(model, x, folder, info):
    folder.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        y32 = model(torch.from_numpy(x)).numpy()
        m64 = build(info["family"], info["arch"], info["width"], info["depth"], info["classes"], info.get("real", False))
        m64.load_state_dict(model.state_dict())
        y64 = m64.double().eval()(torch.from_numpy(x).double()).numpy()
    torch.save(model.state_dict(), folder / "model.pth")
    np.save(folder / "truth_f64.npy", y64)
    np.save(folder / "torch_f32.npy", y32.astype(np.float32))
    err = float(np.abs(y32 - y64).max() / max(1.0, np.abs(y64).max()))
    info.update(input_shape=list(x.shape), max_abs_logit=float(np.abs(y64).max()), torch_f32_vs_f64_relative=err)
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{folder}: max |logit| {info['max_abs_logit']:.1f}, PyTorch float32 vs float64 relative {err:.3g}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", nargs="?", default="fixture", choices=["fixture", "measure"])
    p.add_argument("--family", default="torchvision", choices=["torchvision", "timm"])
    p.add_argument("--arch", default="efficientnet_b7")
    p.add_argument("--size", type=int, default=600)
    p.add_argument("--width", type=float, default=None)
    p.add_argument("--depth", type=float, default=None)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--calibration-size", type=int, default=128, help="image size of the BN statistics passes")
    p.add_argument("--bn-gamma", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="range of the random BN weights (default 1 3 for the fixture, 0.5 1.5 for measure)")
    p.add_argument("--out")
    a = p.parse_args()
    torch.manual_seed(0)
    if a.mode == "fixture":
        info = dict(family="torchvision", arch="efficientnet_b7", width=a.width or 0.2, depth=3.1, classes=a.classes, seed=16,
                    bn_gamma=[1.0, 3.0], bn_beta=0.5)
        folder = OUT / "b7_narrow"
    else:
        defaults = {"efficientnet_b0": (1.0, 1.0), "efficientnet_b4": (1.4, 1.8), "efficientnet_b7": (2.0, 3.1)}
        w, d = defaults.get(a.arch, (1.0, 1.0))
        info = dict(family=a.family, arch=a.arch, width=a.width or w, depth=a.depth or d, classes=a.classes, seed=16,
                    bn_gamma=a.bn_gamma or [0.5, 1.5], bn_beta=0.2, real=a.width is None and a.depth is None)
        folder = Path(a.out)
    model = randomise(build(info["family"], info["arch"], info["width"], info["depth"], info["classes"], info.get("real", False)),
                      a.calibration_size, info["seed"], info["bn_gamma"], info["bn_beta"])
    x = probe_input([a.batch, 3, a.size, a.size])
    if a.mode == "measure":
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "input.npy", x)
    write(model, x, folder, info)


if __name__ == "__main__":
    main()

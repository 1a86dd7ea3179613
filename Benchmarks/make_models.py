#!/usr/bin/env python3
"""Creates the benchmark models: torchvision EfficientNet-B0 / B4 / B7 and EfficientNetV2-S with random
weights and random batch-norm statistics, written three ways from the same tensors:

  CACHE/<name>.effw   our format (safetensors + effw.version / effw.config / effw.crc32 metadata)
  CACHE/<name>.onnx   torch.onnx.export of the same module (for ONNX Runtime)
  CACHE/<name>.pt     the module's state_dict (for PyTorch eager)

The .effw config JSON comes from the Swift side (`effnet-bench config NAME`), so the metadata is
exactly what EfficientNetConfig encodes. Run by Benchmarks/run.sh; never in CI.

usage: make_models.py CACHE_DIR BENCH_BINARY [b0 b4 v2s ...]
"""
import json
import os
import subprocess
import sys
import zlib

import torch
import torchvision
from safetensors.torch import save_file

# name -> (torchvision constructor, input size the ONNX export traces with)
ARCHS = {"b0": (torchvision.models.efficientnet_b0, 224), "b4": (torchvision.models.efficientnet_b4, 380),
         "b7": (torchvision.models.efficientnet_b7, 600),
         "v2s": (torchvision.models.efficientnet_v2_s, 384)}


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Random BN statistics and affine parameters, so that folding BN is really exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)


def canonical_state(model: torch.nn.Module) -> dict:
    """torchvision names -> EffNetKit canonical names (see EfficientNet.parameterShapes)."""
    out = {}

    def cna(prefix, seq):  # Conv2dNormActivation: [0] conv, [1] bn
        out[f"{prefix}.conv.weight"] = seq[0].weight
        bn = seq[1]
        out[f"{prefix}.bn.weight"] = bn.weight
        out[f"{prefix}.bn.bias"] = bn.bias
        out[f"{prefix}.bn.running_mean"] = bn.running_mean
        out[f"{prefix}.bn.running_var"] = bn.running_var

    f = model.features
    cna("stem", f[0])
    i = 0
    for stage in list(f)[1:-1]:
        for mb in stage:
            layers = list(mb.block)
            p = f"blocks.{i}"
            i += 1
            if type(mb).__name__ == "FusedMBConv":  # V2: k x k conv [, 1x1 projection]
                cna(f"{p}.fused", layers[0])
                if len(layers) == 2:
                    cna(f"{p}.project", layers[1])
                continue
            if len(layers) == 4:  # expand, depthwise, se, project
                cna(f"{p}.expand", layers.pop(0))
            cna(f"{p}.depthwise", layers[0])
            se = layers[1]
            out[f"{p}.se.reduce.weight"] = se.fc1.weight
            out[f"{p}.se.reduce.bias"] = se.fc1.bias
            out[f"{p}.se.expand.weight"] = se.fc2.weight
            out[f"{p}.se.expand.bias"] = se.fc2.bias
            cna(f"{p}.project", layers[2])
    cna("head", f[-1])
    out["classifier.weight"] = model.classifier[1].weight
    out["classifier.bias"] = model.classifier[1].bias
    return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def write_effw(path: str, tensors: dict, config_json: str) -> None:
    crcs = {k: "%08x" % (zlib.crc32(v.numpy().tobytes()) & 0xFFFFFFFF) for k, v in tensors.items()}
    meta = {"effw.version": "1", "effw.config": config_json, "effw.crc32": json.dumps(crcs, sort_keys=True),
            "format": "pt"}
    save_file(tensors, path, metadata=meta)


def main() -> None:
    cache, bench = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or ["b0", "b4"]
    os.makedirs(cache, exist_ok=True)
    for name in names:
        ctor, size = ARCHS[name]
        effw, onnx_path, pt = (os.path.join(cache, f"efficientnet_{name}.{e}") for e in ("effw", "onnx", "pt"))
        if all(os.path.exists(p) for p in (effw, onnx_path, pt)):
            print(f"{name}: cached in {cache}")
            continue
        torch.manual_seed(1234)
        model = ctor(weights=None).eval()
        randomize(model, seed=4321)
        config = subprocess.run([bench, "config", name], check=True, capture_output=True, text=True).stdout.strip()
        write_effw(effw, canonical_state(model), config)
        torch.save(model.state_dict(), pt)
        x = torch.randn(1, 3, size, size)
        torch.onnx.export(model, (x,), onnx_path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          dynamo=False)
        print(f"{name}: wrote {effw}, {onnx_path}, {pt}")


if __name__ == "__main__":
    main()

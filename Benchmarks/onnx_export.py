#!/usr/bin/env python3
"""The ONNX export benchmark's Python side (Benchmarks/onnx-export.sh; never in CI).

  onnx_export.py make DIR [b0 b4 b7]   torchvision EfficientNets with random weights and BN
                                       statistics: DIR/<name>.pth (state dict, read by the Swift
                                       export), DIR/torch_<name>.onnx (torch.onnx.export of the same
                                       module, opset 17, dynamic batch), DIR/<name>_input.npy and
                                       DIR/<name>_torch.npy (PyTorch's logits)
  onnx_export.py latency DIR NAME      ONNX Runtime latency (median, batch 1 and 8, 1 and 2 threads)
                                       of swift_NAME.onnx, swift_NAME_folded.onnx and
                                       torch_NAME.onnx, and each one's output against PyTorch's
"""
import json
import os
import statistics
import sys
import time

import numpy as np

SIZES = {"b0": 224, "b4": 380, "b7": 600}


def make(out, names):
    import torch
    import torchvision

    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(names):
        torch.manual_seed(i)
        m = getattr(torchvision.models, f"efficientnet_{name}")()
        # Real-looking BN statistics (Fixtures/README: cumulative averages over random batches).
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.data.uniform_(0.6, 1.4)
                mod.bias.data.uniform_(-0.3, 0.3)
                mod.reset_running_stats()
                mod.momentum = None
        m.train()
        size = SIZES[name] if name == "b0" else 128
        with torch.no_grad():
            for _ in range(2):
                m(torch.randn(4, 3, size, size))
        m.eval()
        torch.save(m.state_dict(), os.path.join(out, f"{name}.pth"))
        if name != "b0":
            continue
        x = torch.randn(2, 3, SIZES[name], SIZES[name])
        with torch.no_grad():
            y = m(x)
        np.save(os.path.join(out, f"{name}_input.npy"), x.numpy())
        np.save(os.path.join(out, f"{name}_torch.npy"), y.numpy())
        torch.onnx.export(m, x, os.path.join(out, f"torch_{name}.onnx"), opset_version=17, dynamo=False,
                          input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def latency(out, name):
    import onnxruntime as ort

    x = np.load(os.path.join(out, f"{name}_input.npy"))
    ref = np.load(os.path.join(out, f"{name}_torch.npy")).astype(np.float64)
    rows = []
    for model in [f"swift_{name}", f"swift_{name}_folded", f"torch_{name}"]:
        path = os.path.join(out, f"{model}.onnx")
        for threads in (1, 2):
            o = ort.SessionOptions()
            o.intra_op_num_threads = threads
            o.inter_op_num_threads = 1
            s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
            feed = s.get_inputs()[0].name
            y = s.run(None, {feed: x})[0].astype(np.float64)
            err = float(np.max(np.abs(y - ref)) / max(1.0, np.max(np.abs(ref))))
            for batch in (1, 8):
                xb = np.repeat(x[:1], batch, axis=0)
                s.run(None, {feed: xb})
                walls, cpus = [], []
                t_end = time.perf_counter() + 3
                while time.perf_counter() < t_end or len(walls) < 10:
                    w0, c0 = time.perf_counter(), time.process_time()
                    s.run(None, {feed: xb})
                    walls.append(time.perf_counter() - w0)
                    cpus.append(time.process_time() - c0)
                rows.append(dict(model=model, threads=threads, batch=batch, median_ms=1e3 * statistics.median(walls),
                                 cpu_ms=1e3 * statistics.median(cpus), runs=len(walls), vs_torch=err))
                print(json.dumps(rows[-1]))
    return rows


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3:] or ["b0", "b4", "b7"])
    elif len(sys.argv) == 4 and sys.argv[1] == "latency":
        latency(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

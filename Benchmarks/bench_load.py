#!/usr/bin/env python3
"""Load-to-ready timings of the Python engines, one measurement per process (as an application
pays it at launch). Run by Benchmarks/load.sh, which starts a fresh process for every run and
interleaves the engines; imports are done before the clock starts (they are not what is compared).

usage: bench_load.py safetensors FILE.effw
       bench_load.py torchvision NAME FILE.pt
       bench_load.py onnxruntime FILE.onnx SIZE

Prints one JSON line. Times in ms; cpu_* are the process's CPU time (user + sys, all threads) over
the same span, because on a shared machine wall time also measures the other processes.
  safetensors   load_ms: safetensors.torch.load_file (tensors copied into torch storage)
  torchvision   construct_ms: the torchvision constructor (random init, as torchvision does);
                load_ms: torch.load(mmap=True, weights_only=True) + load_state_dict;
                ready_ms: both
  onnxruntime   session_ms: InferenceSession (graph optimisation, weight prepacking);
                first_ms: the first run; warm_ms: median of 3 later runs;
                ready_ms = session + first - warm (the issue's definition)
"""
import json
import sys
import time


def clock():
    return time.perf_counter() * 1e3, time.process_time() * 1e3


def since(start):
    w, c = clock()
    return w - start[0], c - start[1]


def main() -> None:
    kind = sys.argv[1]
    out = {"engine": kind}
    if kind == "safetensors":
        from safetensors.torch import load_file
        t = clock()
        sd = load_file(sys.argv[2])
        out["load_ms"], out["cpu_load_ms"] = since(t)
        out["tensors"] = len(sd)
    elif kind == "torchvision":
        import torch
        import torchvision
        name, pt = sys.argv[2], sys.argv[3]
        torch.set_num_threads(2)
        ctor = getattr(torchvision.models, f"efficientnet_{name}")
        t = clock()
        model = ctor(weights=None).eval()
        out["construct_ms"], out["cpu_construct_ms"] = since(t)
        t2 = clock()
        sd = torch.load(pt, mmap=True, weights_only=True)
        model.load_state_dict(sd)
        out["load_ms"], out["cpu_load_ms"] = since(t2)
        out["ready_ms"], out["cpu_ready_ms"] = since(t)
    elif kind == "onnxruntime":
        import numpy as np
        import onnxruntime as ort
        path, size = sys.argv[2], int(sys.argv[3])
        x = np.random.default_rng(0).standard_normal((1, 3, size, size), dtype=np.float32)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        t = clock()
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        out["session_ms"], out["cpu_session_ms"] = since(t)
        name = sess.get_inputs()[0].name
        t = clock()
        sess.run(None, {name: x})
        out["first_ms"], out["cpu_first_ms"] = since(t)
        warm, warm_cpu = [], []
        for _ in range(3):
            t = clock()
            sess.run(None, {name: x})
            w, c = since(t)
            warm.append(w)
            warm_cpu.append(c)
        out["warm_ms"], out["cpu_warm_ms"] = sorted(warm)[1], sorted(warm_cpu)[1]
        out["ready_ms"] = out["session_ms"] + out["first_ms"] - out["warm_ms"]
        out["cpu_ready_ms"] = out["cpu_session_ms"] + out["cpu_first_ms"] - out["cpu_warm_ms"]
    else:
        sys.exit(f"error: unknown engine {kind}")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()

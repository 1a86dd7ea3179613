#!/usr/bin/env python3
"""Times ONNX Runtime and PyTorch eager on the benchmark models (made by make_models.py) and writes
one JSON line per (engine, case) to stdout. Also writes, per model, a fixed input and ONNX Runtime's
output for it (CACHE/<model>.check_{input,output}.npy) so the Swift benchmark can check that it
computes the same function before it times it.

usage: bench_python.py CACHE_DIR CASE [CASE ...]
       bench_python.py CACHE_DIR --write-checks MODEL [MODEL ...]
  CASE = model:size:batch:threads, e.g. b0:224:1:1
  env BENCH_MIN_SECONDS (default 3), BENCH_MIN_RUNS (default 20)
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torchvision

MIN_SECONDS = float(os.environ.get("BENCH_MIN_SECONDS", "3"))
MIN_RUNS = int(os.environ.get("BENCH_MIN_RUNS", "20"))
WARMUP = 3


def timed(fn):
    for _ in range(WARMUP):
        fn()
    times, cpu = [], []
    start = time.perf_counter()
    while len(times) < MIN_RUNS or time.perf_counter() - start < MIN_SECONDS:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if len(times) >= 2000:
            break
    return statistics.median(times), min(times), statistics.median(cpu), len(times)


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


# model name -> (torchvision constructor, input size of the correctness check)
MODELS = {"b0": ("efficientnet_b0", 224), "b4": ("efficientnet_b4", 380), "v2s": ("efficientnet_v2_s", 384)}


def torch_model(cache, model):
    ctor = getattr(torchvision.models, MODELS[model][0])
    m = ctor(weights=None).eval()
    m.load_state_dict(torch.load(os.path.join(cache, f"efficientnet_{model}.pt")))
    return m


def write_check(cache, model, size):
    """A fixed input and ONNX Runtime's logits for it, for the Swift side's sanity check."""
    inp = os.path.join(cache, f"efficientnet_{model}.check_input.npy")
    out = os.path.join(cache, f"efficientnet_{model}.check_output.npy")
    x = np.random.default_rng(7).standard_normal((2, 3, size, size), dtype=np.float32)
    sess = ort_session(os.path.join(cache, f"efficientnet_{model}.onnx"), 1)
    np.save(inp, x)
    np.save(out, sess.run(None, {"input": x})[0].astype(np.float32))


def main():
    cache = sys.argv[1]
    if sys.argv[2] == "--write-checks":
        for model in sys.argv[3:]:
            write_check(cache, model, MODELS[model][1])
        return
    cases = [c.split(":") for c in sys.argv[2:]]
    torch_models = {}
    for model, size, batch, threads in cases:
        size, batch, threads = int(size), int(batch), int(threads)
        x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
        case = {"model": model, "size": size, "batch": batch, "threads": threads}

        sess = ort_session(os.path.join(cache, f"efficientnet_{model}.onnx"), threads)
        med, best, cpu, n = timed(lambda: sess.run(None, {"input": x}))
        print(json.dumps({"engine": "onnxruntime", **case, "median_ms": med, "min_ms": best, "cpu_ms": cpu, "runs": n}),
              flush=True)
        del sess

        torch.set_num_threads(threads)
        if model not in torch_models:
            torch_models[model] = torch_model(cache, model)
        m = torch_models[model]
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            med, best, cpu, n = timed(lambda: m(xt))
        print(json.dumps({"engine": "pytorch", **case, "median_ms": med, "min_ms": best, "cpu_ms": cpu, "runs": n}),
              flush=True)


if __name__ == "__main__":
    main()

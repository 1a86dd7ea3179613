#!/usr/bin/env python3
"""Times ONNX Runtime and PyTorch eager on the benchmark models (made by make_models.py) and writes
one JSON line per (engine, case) to stdout. Also writes, per model, a fixed input and ONNX Runtime's
output for it (CACHE/<model>.check_{input,output}.npy) so the Swift benchmark can check that it
computes the same function before it times it.

usage: bench_python.py CACHE_DIR CASE [CASE ...]
       bench_python.py CACHE_DIR --write-checks MODEL [MODEL ...]
       bench_python.py CACHE_DIR --profile CASE [CASE ...]
  CASE = model:size:batch:threads, e.g. b0:224:1:1
  env BENCH_MIN_SECONDS (default 3), BENCH_MIN_RUNS (default 20),
      BENCH_ENGINES (default "onnxruntime,pytorch"): run.sh runs each engine in its own process,
      so that each line's peak_rss_mb (the process's peak resident memory after the case: the
      interpreter, the engine's import, the model and its runs) is that engine's alone.

--profile: ONNX Runtime's own per-node profile (SessionOptions.enable_profiling) of each case,
summed per layer kind (the kinds of effnet-bench profile, from each Conv's weight shape and
input size), one JSON line per kind.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

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
MODELS = {"b0": ("efficientnet_b0", 224), "b4": ("efficientnet_b4", 380), "b7": ("efficientnet_b7", 600),
          "v2s": ("efficientnet_v2_s", 384)}
ENGINES = os.environ.get("BENCH_ENGINES", "onnxruntime,pytorch").split(",")


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torch_model(cache, model):
    import torch
    import torchvision
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
    if sys.argv[2] == "--profile":
        for c in sys.argv[3:]:
            profile(cache, c)
        return
    cases = [c.split(":") for c in sys.argv[2:]]
    torch_models = {}
    for model, size, batch, threads in cases:
        size, batch, threads = int(size), int(batch), int(threads)
        x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
        case = {"model": model, "size": size, "batch": batch, "threads": threads}

        if "onnxruntime" in ENGINES:
            sess = ort_session(os.path.join(cache, f"efficientnet_{model}.onnx"), threads)
            med, best, cpu, n = timed(lambda: sess.run(None, {"input": x}))
            print(json.dumps({"engine": "onnxruntime", **case, "median_ms": med, "min_ms": best, "cpu_ms": cpu, "runs": n,
                              "peak_rss_mb": peak_rss_mb()}), flush=True)
            del sess

        if "pytorch" in ENGINES:
            import torch
            torch.set_num_threads(threads)
            if model not in torch_models:
                torch_models[model] = torch_model(cache, model)
            m = torch_models[model]
            xt = torch.from_numpy(x)
            with torch.inference_mode():
                med, best, cpu, n = timed(lambda: m(xt))
            print(json.dumps({"engine": "pytorch", **case, "median_ms": med, "min_ms": best, "cpu_ms": cpu, "runs": n,
                              "peak_rss_mb": peak_rss_mb()}), flush=True)


def layer_kind(op, shapes, is_head, after_head):
    """The effnet-bench profile kind of one ONNX Runtime node, from its operator, its input
    shapes and where it runs relative to the head convolution."""
    if op in ("Conv", "FusedConv"):
        x, w = shapes[0], shapes[1]
        co, cig, kh = w[0], w[1], w[2]
        if kh > 1:
            return "depthwise k x k" if cig == 1 else ("stem (pad + k x k conv)" if x[1] == 3 else "fused k x k conv")
        if x[2] * x[3] == 1:
            return "squeeze-excite"
        if is_head:
            return "head 1x1"
        return "expand 1x1" if co > x[1] else "project 1x1 (+ SE scale, residual)"
    if op in ("GlobalAveragePool", "ReduceMean"):
        return "global average pool" if after_head else "squeeze-excite"
    if op in ("Gemm", "MatMul", "Flatten", "Reshape"):
        return "classifier"
    if op in ("Sigmoid", "Mul", "HardSigmoid", "Add", "QuickGelu"):
        # QuickGelu is ORT's fusion of x * sigmoid(x), i.e. SiLU.
        return "elementwise (activations, SE scale, residual)"
    if op in ("ReorderInput", "ReorderOutput"):
        return "layout reorders (NCHWc)"
    return f"other ({op})"


def profile(cache, spec):
    import tempfile
    model, size, batch, threads = spec.split(":")
    size, batch, threads = int(size), int(batch), int(threads)
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = ort.InferenceSession(os.path.join(cache, f"efficientnet_{model}.onnx"), so, providers=["CPUExecutionProvider"])
    med, _, _, n = timed(lambda: sess.run(None, {"input": x}))
    path = sess.end_profiling()
    events = json.load(open(path))
    os.remove(path)
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    runs = n + WARMUP

    def shapes(e):
        return [list(d.values())[0] for d in e["args"].get("input_type_shape", [])]

    # Execution positions from the first run (until a node repeats); the head is the last 1x1
    # Conv on a map larger than 1x1, and a pooling after it is the global one.
    position = {}
    for e in nodes:
        i = e["args"]["node_index"]
        if i in position:
            break
        position[i] = len(position)
    head = max((position[e["args"]["node_index"]] for e in nodes[:len(position)]
                if e["args"]["op_name"] in ("Conv", "FusedConv") and shapes(e)[1][2] == 1
                and shapes(e)[0][2] * shapes(e)[0][3] > 1), default=len(position))
    totals = {}
    for e in nodes:
        p = position.get(e["args"]["node_index"], -1)
        kind = layer_kind(e["args"]["op_name"], shapes(e), is_head=p == head, after_head=p > head)
        totals[kind] = totals.get(kind, 0) + e["dur"]
    for kind, us in totals.items():
        print(json.dumps({"engine": "onnxruntime", "case": spec, "kind": kind, "ms_per_inference": us / 1000 / runs,
                          "median_ms": med}), flush=True)


if __name__ == "__main__":
    main()

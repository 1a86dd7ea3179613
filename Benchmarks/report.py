#!/usr/bin/env python3
"""Prints the benchmark table from run.sh's results folder (machine.txt, swift.jsonl,
python.jsonl): median latency per engine and case, and the Swift/ORT and Swift/PyTorch ratios."""
import json
import os
import statistics
import sys

NAMES = {"v2s": "V2-S"}


def main():
    out = sys.argv[1]
    rows = []
    for name in ("swift.jsonl", "python.jsonl"):
        with open(os.path.join(out, name)) as f:
            rows += [json.loads(line) for line in f if line.startswith("{")]
    rounds = {}
    cases = []
    for r in rows:
        key = (r["model"], r["size"], r["batch"], r["threads"])
        if key not in cases:
            cases.append(key)
        rounds.setdefault((r["engine"], key), []).append(r)
    # Several rounds (BENCH_ROUNDS): the median of their medians and CPU times, the fastest run.
    by = {}
    for k, rs in rounds.items():
        r = dict(rs[0])
        r["median_ms"] = statistics.median(x["median_ms"] for x in rs)
        r["cpu_ms"] = statistics.median(x["cpu_ms"] for x in rs)
        r["min_ms"] = min(x["min_ms"] for x in rs)
        r["runs"] = sum(x["runs"] for x in rs)
        if all("peak_rss_mb" in x for x in rs):
            r["peak_rss_mb"] = max(x["peak_rss_mb"] for x in rs)
        r["rounds"] = len(rs)
        by[k] = r
    engines = [e for e in ("swift", "swift-default", "swift-openblas", "onnxruntime", "pytorch")
               if any((e, c) in by for c in cases)]
    print()
    print(open(os.path.join(out, "machine.txt")).read().strip())
    print()
    for field, title in (("median_ms", "Median wall-clock latency (ms)"),
                         ("min_ms", "Fastest run (ms)"),
                         ("cpu_ms", "Median process CPU time per run (ms; all threads, ORT's spinning included)"),
                         ("peak_rss_mb", "Peak resident memory of the process (MB; load and the case's runs, one process per engine and case)")):
        print(f"{title}:")
        print()
        head = "| case | " + " | ".join(engines) + " | Swift/ORT | Swift/PyTorch |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for c in cases:
            model, size, batch, threads = c
            cells = [f"{NAMES.get(model, model.upper())} {size}x{size} batch {batch}, {threads} thread{'s' if threads > 1 else ''}"]
            for e in engines:
                r = by.get((e, c))
                cells.append(f"{r[field]:.2f}" if r and field in r else "-")
            s, o, p = (by.get((e, c)) for e in ("swift", "onnxruntime", "pytorch"))
            cells.append(f"{s[field] / o[field]:.2f}" if s and o and field in o else "-")
            cells.append(f"{s[field] / p[field]:.2f}" if s and p and field in p else "-")
            print("| " + " | ".join(cells) + " |")
        print()
    checks = {r["model"]: r for r in rows if r["engine"] == "swift" and "check_vs_onnxruntime_rel_err" in r}
    print()
    for m, r in sorted(checks.items()):
        print(f"{m}: Swift vs ONNX Runtime logits on a fixed 2-image batch: relative error "
              f"{r['check_vs_onnxruntime_rel_err']:.2e}, top-1 agreement {r['check_top1']:.0%}")
    n = max((r["rounds"] for r in by.values()), default=1)
    print("(median of >= BENCH_MIN_RUNS runs and >= BENCH_MIN_SECONDS per case"
          + (f", median of {n} rounds' medians" if n > 1 else "") + "; ratios < 1 mean Swift is faster)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes ONNX's own node conformance tests for every operator the reference interpreter implements.

Needs only the pip `onnx` package (and numpy). The onnx wheel ships the test-case definitions
(onnx.backend.test.case.node), not the data; this script collects those cases and writes them with
onnx's own test-data writer (onnx.backend.test.cmd_tools.generate_data), so every model.onnx and
every input_*.pb / output_*.pb is exactly what `backend-test-tools generate-data` writes.

    python Fixtures/generate_onnx_conformance.py            # -> Fixtures/onnx_conformance/

The operator list is read from Sources/EffNetONNX/Interpreter/Kernels.swift (`Kernels.supported`),
so a newly implemented operator brings its tests along. A case belongs to an operator when its node
is that operator; the "_expanded" variants (the operator's function body, made of other operators)
belong to the operator they expand.

Output, per case: onnx_conformance/node/<test name>/model.onnx and test_data_set_0/{input,output}_N.pb
(onnx's layout), plus onnx_conformance/manifest.json listing every case with its operator, opset
and the tolerances onnx's backend runner applies to it (rtol 1e-3, atol 1e-7 for node tests).
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import onnx
import onnx.backend.test.case.model as model_cases
import onnx.backend.test.case.node as node_cases
from onnx.backend.test import cmd_tools

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "Sources/EffNetONNX/Interpreter/Kernels.swift"


def supported_operators() -> list[str]:
    """The string literals of `static let supported: Set<String> = [...]` in Kernels.swift."""
    text = KERNELS.read_text()
    m = re.search(r"static let supported: Set<String> = \[(.*?)\]", text, re.S)
    if not m:
        sys.exit(f"{KERNELS}: no `static let supported` list")
    return sorted(set(re.findall(r'"([A-Za-z]+)"', m.group(1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(ROOT / "Fixtures/onnx_conformance"))
    args = parser.parse_args()
    out = Path(args.output)

    ops = set(supported_operators())
    cases = node_cases.collect_testcases()
    # The operator each case tests: its node for a plain case; for "<name>_expanded[_verN]" the
    # operator of "<name>".
    op_of = {c.name: c.model.graph.node[0].op_type for c in cases if "_expanded" not in c.name}
    chosen, manifest = [], []
    for c in cases:
        base = c.name.split("_expanded")[0]
        op = op_of.get(base)
        if op not in ops:
            continue
        chosen.append(c)
        opset = max((o.version for o in c.model.opset_import if o.domain in ("", "ai.onnx")), default=None)
        manifest.append({"name": c.name, "operator": op, "opset": opset, "rtol": c.rtol, "atol": c.atol,
                         "expanded": c.name != base})

    # onnx's writer writes whatever model_cases.collect_testcases() returns: give it our selection.
    if out.exists():
        shutil.rmtree(out)
    model_cases.collect_testcases = lambda: chosen
    cmd_tools.generate_data(argparse.Namespace(output=str(out)))
    manifest.sort(key=lambda e: e["name"])
    (out / "manifest.json").write_text(json.dumps(
        {"onnx_version": onnx.__version__, "operators": sorted(ops), "cases": manifest}, indent=1) + "\n")
    missing = sorted(ops - {e["operator"] for e in manifest})
    print(f"onnx {onnx.__version__}: {len(manifest)} cases for {len(ops)} operators -> {out}")
    if missing:
        print("operators without node tests in this onnx version:", ", ".join(missing))


if __name__ == "__main__":
    main()

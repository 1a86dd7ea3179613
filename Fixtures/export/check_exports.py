"""Loads files that effnet-convert exports into the real frameworks and checks that they
reproduce the SOURCE framework's own output (the committed fixtures' expected outputs, written by
the framework that made the source file), within relative 1e-4.

Run with a venv that has torch, torchvision, timm, transformers, efficientnet-pytorch and
safetensors, after `swift build -c release`:

    python Fixtures/export/check_exports.py [--tool .build/release/effnet-convert]

It converts each source with the built tool into a temporary folder, builds the target model in
its framework (random init, same width and depth as the source), loads the exported weights with
`load_state_dict(strict=True)` (transformers: `from_pretrained` on the exported folder), runs it
on the source fixture's input (normalised with the mean and std the export's --json report gives
when the source took 0-255 pixels) and compares. Pairs the tool must refuse are run too, and must exit 2 naming the
convention. Results go to Fixtures/export/results.json (committed: the record of what the real
frameworks said); CI, which has no torch, checks the record's shape and the refusals itself.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.dirname(HERE)
ROOT = os.path.dirname(FIX)
sys.path.insert(0, FIX)
import generate_torch_families as fam  # noqa: E402  (the fixtures' own model builders)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def load_state_dict(path):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    return torch.load(path, weights_only=True)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def hf_build(folder):
    from transformers import EfficientNetForImageClassification
    m = EfficientNetForImageClassification.from_pretrained(folder)
    m.eval()
    return lambda x: m(pixel_values=x).logits


def ort_build(path):
    import onnxruntime as ort
    session = ort.InferenceSession(path)
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def torch_build(builder):
    def load(path):
        m = builder()
        m.load_state_dict(load_state_dict(path), strict=True)
        m.eval()
        return m
    return load


KERAS_W035 = dict(source="Fixtures/export/keras_w035/model.keras", input="Fixtures/export/keras_w035/input_64.npy",
                  expected="Fixtures/export/keras_w035/expected_64.npy", pixels=True, softmax=True)
KERAS_IMAGENET = dict(source="Fixtures/keras/k3_imagenet_style.keras",
                      input="Fixtures/keras/k3_imagenet_style_input.npy",
                      expected="Fixtures/keras/k3_imagenet_style_output.npy", pixels=True, softmax=True)
KERAS_ODD = dict(source="Fixtures/keras/k3_legacy_odd.h5", input="Fixtures/keras/k3_legacy_odd_input.npy",
                 expected="Fixtures/keras/k3_legacy_odd_output.npy", pixels=True, softmax=False)
TV = dict(source="Fixtures/torch/torchvision/weights.pth", input="Fixtures/torch/input_64.npy",
          expected="Fixtures/torch/torchvision/expected_64.npy", pixels=False, softmax=False)
TIMM_TF = dict(source="Fixtures/torch/timm-tf/weights.pth", args=["--family", "timm-tf"], input="Fixtures/torch/input_67.npy",
               expected="Fixtures/torch/timm-tf/expected_67.npy", pixels=False, softmax=False)
HF = dict(source="Fixtures/export/hf_w035", input="Fixtures/export/hf_w035/input_64.npy",
          expected="Fixtures/export/hf_w035/expected_64.npy", pixels=False, softmax=False)
TIMM_TF_W035 = dict(source="Fixtures/export/timm_tf_w035/weights.pth", args=["--family", "timm-tf"],
                    input="Fixtures/export/timm_tf_w035/input_64.npy",
                    expected="Fixtures/export/timm_tf_w035/expected_64.npy", pixels=False, softmax=False)
ONNX_TV = dict(source="Fixtures/onnx/torchvision_ts13/model.onnx", input="Fixtures/onnx/torchvision_ts13/input.npy",
               expected="Fixtures/onnx/torchvision_ts13/source_output.npy", pixels=False, softmax=False)

KERAS_V2 = dict(source="Fixtures/v2/keras_s_like/model.keras", input="Fixtures/v2/keras_s_like/input_64.npy",
                expected="Fixtures/v2/keras_s_like/expected_64.npy", pixels=True, softmax=True)
TF_CLASSES = 10  # Fixtures/generate_tf_checkpoints.py
TF_OFFICIAL = dict(source="Fixtures/tf/official_b0", input="Fixtures/tf/official_b0/input.npy",
                   expected="Fixtures/tf/official_b0/output.npy", pixels=False, softmax=False)

# (name, source, target family, DEST name, how the real framework builds and loads it)
CASES = [
    ("keras->timm-tf", KERAS_W035, "timm-tf", "out.pth",
     torch_build(lambda: fam.build_timm(0.35, 0.34, 1000, tf=True))),
    ("keras->lukemelas", KERAS_W035, "lukemelas", "out.pth",
     torch_build(lambda: fam.build_lukemelas(0.35, 0.34, 1000))),
    ("keras(width 0.1)->timm-tf", KERAS_IMAGENET, "timm-tf", "out.safetensors",
     torch_build(lambda: fam.build_timm(0.1, 0.25, 1000, tf=True))),
    ("keras(66, odd maps)->timm-tf", KERAS_ODD, "timm-tf", "out.safetensors",
     torch_build(lambda: fam.build_timm(0.15, 0.5, 5, tf=True))),
    ("torchvision->timm", TV, "timm", "out.safetensors",
     torch_build(lambda: fam.build_timm(0.1, 0.5, 10))),
    ("onnx(torchvision, BN folded)->torchvision", ONNX_TV, "torchvision", "out.pth",
     torch_build(lambda: fam.build_torchvision(0.25, 0.25, 7))),
    # Google's own weights exist only as TF checkpoints: the official B0 (scaled) as timm's tf_ port.
    ("tf-official->timm-tf", TF_OFFICIAL, "timm-tf", "out.pth",
     torch_build(lambda: fam.build_timm(0.15, 0.3, TF_CLASSES, tf=True))),
    # EfficientNetV2: Keras' V2-S (scaled; Fused-MBConv stages) as timm's tf_efficientnetv2_s.
    ("keras V2-S->timm-tf", KERAS_V2, "timm-tf", "out.pth",
     torch_build(lambda: __import__("timm.models.efficientnet", fromlist=["x"])._gen_efficientnetv2_s(
         "tf_efficientnetv2_s", channel_multiplier=0.125, depth_multiplier=0.1, num_classes=10, bn_eps=1e-3, pad_type="same"))),
    # ONNX: the graph takes exactly what the source took (Keras: 0-255 pixels), run by ONNX Runtime.
    ("torchvision->onnx", TV, None, "out.onnx", ort_build),
    ("timm-tf(67, SAME from the input)->onnx", TIMM_TF, None, "out.onnx", ort_build),
    ("keras->onnx", KERAS_W035, None, "out.onnx", ort_build),
    ("keras V2-S->onnx", KERAS_V2, None, "out.onnx", ort_build),
    ("hf->timm-tf", HF, "timm-tf", "out.pth",
     torch_build(lambda: fam.build_timm(0.35, 0.34, 6, tf=True))),
    ("timm-tf->hf (hub folder)", TIMM_TF_W035, "hf", "hf_folder", hf_build),
]

# (name, source, target, DEST name, words the refusal must contain)
REFUSALS = [
    ("torchvision->keras", TV, None, "out.weights.h5", "padding"),
    ("torchvision->timm-tf", TV, "timm-tf", "out.pth", "padding"),
    ("keras->torchvision", KERAS_IMAGENET, "torchvision", "out.pth", "padding"),
    # efficientnet_pytorch never adds a stage's first block's input (its stride is the list
    # [1]); at width 0.1 the first block keeps its width, so Keras' residual there cannot go.
    ("keras(width 0.1)->lukemelas", KERAS_IMAGENET, "lukemelas", "out.pth", "block 0"),
    ("timm-tf(width 0.1)->hf", TIMM_TF, "hf", "hf_folder", "block 0"),
    ("torchvision V2-S->timm", dict(source="Fixtures/v2/tv_s_like/weights.pth"), "timm", "out.pth", "BN epsilon"),
]


def scrub(text, out):
    """Messages name files: the record keeps them relative (no path of the machine that ran it)."""
    return text.replace(os.path.dirname(out) + "/", "").replace(ROOT + "/", "")


def convert(tool, case, family, dest, workdir):
    out = os.path.join(tempfile.mkdtemp(dir=workdir), dest)
    cmd = [tool, os.path.join(ROOT, case["source"]), out, "--json"] + case.get("args", []) + (["--to", family] if family else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p, out


def normalised(x, report):
    """0-255 NCHW pixels as the export's report (--json) says the written model takes them."""
    e = report["export"]
    if e["takesPixels"]:
        return x
    mean = np.array(e["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.array(e["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    return (x / 255.0 - mean) / std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(ROOT, ".build", "release", "effnet-convert"))
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    args = ap.parse_args()
    import timm
    import torchvision
    import transformers
    import onnxruntime
    results = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__,
                            "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__},
               "tolerance": 1e-4, "pairs": [], "refusals": []}
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        for name, case, family, dest, load in CASES:
            p, out = convert(args.tool, case, family, dest, work)
            entry = {"pair": name, "target": family, "dest": dest}
            if p.returncode != 0:
                entry.update(written=False, error=scrub(p.stderr.strip(), out))
                failures += 1
            else:
                x = np.load(os.path.join(ROOT, case["input"])).astype(np.float32)
                if case["pixels"]:
                    x = normalised(x, json.loads(p.stdout))  # what the report says the caller now does
                expected = np.load(os.path.join(ROOT, case["expected"]))
                model = load(out)
                with torch.no_grad():
                    y = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()
                if case["softmax"] and load is not ort_build:
                    y = softmax(y)  # PyTorch families output logits; an ONNX graph keeps the softmax
                r = rel(y, expected)
                entry.update(written=True, relative_error=r, passed=r <= 1e-4,
                             loaded_with={hf_build: "from_pretrained", ort_build: "onnxruntime"}.get(load, "load_state_dict(strict=True)"))
                failures += r > 1e-4
            results["pairs"].append(entry)
            print(json.dumps(entry))
        for name, case, family, dest, words in REFUSALS:
            p, out = convert(args.tool, case, family, dest, work)
            ok = p.returncode == 2 and words in p.stderr and not os.path.exists(out)
            entry = {"pair": name, "target": family, "dest": dest, "exit": p.returncode, "refused": ok,
                     "message": scrub(p.stderr.strip(), out)}
            failures += not ok
            results["refusals"].append(entry)
            print(json.dumps(entry))
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

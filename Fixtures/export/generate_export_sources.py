"""Sources for the export checks whose conventions let transformers and timm-tf hold each other.

At the widths of the other fixtures (0.1, 0.25) EfficientNet's first block keeps its width at
stride 1, so timm adds its input there and transformers (id_skip) does not: those pairs are
rightly refused. At width 0.35 the stem has 16 channels and the first block 8, as in B0 (32 ->
16), and the two hold the same model. Random init, randomised BN statistics, logits scaled.

    python Fixtures/export/generate_export_sources.py        # a venv with torch, timm, transformers, numpy
    python Fixtures/export/generate_export_sources.py keras  # a venv with keras 3 (TensorFlow), numpy

Writes Fixtures/export/hf_w035/ (transformers' save_pretrained) and Fixtures/export/timm_tf_w035/
(weights.pth of timm's tf_efficientnet_b0 scaled), each with input_64.npy / input_67.npy and the
framework's own expected_64.npy / expected_67.npy; with `keras`, Fixtures/export/keras_w035/
(keras.applications' EfficientNet at width 0.35, built through the weights="imagenet" code path
with ImageNet's normalisation inside, 64x64, softmax; model.keras, input_64.npy as 0-255 NCHW
pixels, expected_64.npy from Keras).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

WIDTH, DEPTH, CLASSES = 0.35, 0.34, 6


def keras():
    import generate_keras as gk
    folder = os.path.join(HERE, "keras_w035")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(35)
    m = gk.keras3_model(WIDTH, DEPTH, 64, 1000, "keras_w035", imagenet_style=True, seed=35)  # the imagenet path needs 1000
    gk.keras3_prepare(m, rng, 64, 64)
    x = gk.images(rng, 2, 64, 64)
    y = np.asarray(m(x, training=False))
    m.save(os.path.join(folder, "model.keras"))
    np.save(os.path.join(folder, "input_64.npy"), np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))
    np.save(os.path.join(folder, "expected_64.npy"), y.astype(np.float32))
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump({"framework": "keras " + __import__("keras").__version__, "width": WIDTH, "depth": DEPTH,
                   "classes": 1000, "input": "0-255 pixels, NCHW", "output": "softmax"}, f, indent=1, sort_keys=True)
        f.write("\n")


def write(folder, run, x, info):
    for tag, arr in x.items():
        save_npy(os.path.join(folder, f"input_{tag}.npy"), arr)
        save_npy(os.path.join(folder, f"expected_{tag}.npy"), run(torch.from_numpy(arr)).numpy())
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")


def hf():
    from transformers import EfficientNetConfig, EfficientNetForImageClassification
    torch.manual_seed(35)
    gen = torch.Generator().manual_seed(35)
    cfg = EfficientNetConfig(width_coefficient=WIDTH, depth_coefficient=DEPTH, image_size=64, hidden_dim=hidden_dim(WIDTH),
                             num_labels=CLASSES, id2label={i: f"kind_{i}" for i in range(CLASSES)},
                             label2id={f"kind_{i}": i for i in range(CLASSES)})
    model = EfficientNetForImageClassification(cfg).eval()
    wrapped = Logits(model)
    calibrate(wrapped, gen)
    x = inputs_for(35)
    scale_logits(wrapped, torch.from_numpy(x["64"]), gen)
    folder = os.path.join(HERE, "hf_w035")
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    write(folder, wrapped, x, {"framework": "transformers", "width": WIDTH, "depth": DEPTH, "classes": CLASSES})


def timm_tf():
    torch.manual_seed(36)
    gen = torch.Generator().manual_seed(36)
    model = fam.build_timm(WIDTH, DEPTH, CLASSES, tf=True).eval()
    calibrate(model, gen)
    x = inputs_for(36)
    scale_logits(model, torch.from_numpy(x["64"]), gen)
    folder = os.path.join(HERE, "timm_tf_w035")
    os.makedirs(folder, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(folder, "weights.pth"))
    write(folder, model, x, {"framework": "timm tf_efficientnet_b0 scaled", "width": WIDTH, "depth": DEPTH, "classes": CLASSES})


if __name__ == "__main__":
    if sys.argv[1:] == ["keras"]:
        keras()
    else:
        import torch
        from generate_v2 import calibrate, scale_logits, save_npy, inputs_for  # noqa: E402
        from generate_hf import hidden_dim, Logits  # noqa: E402
        import generate_torch_families as fam  # noqa: E402
        torch.set_grad_enabled(False)
        hf()
        timm_tf()

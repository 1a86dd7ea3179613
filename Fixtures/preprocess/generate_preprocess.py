#!/usr/bin/env python3
"""Real photos and what each framework's preprocessing makes of them (Tests/EffNetImageTests/PreprocessPipelineTests).

Run (never in CI; deterministic), from any directory:
    python Fixtures/preprocess/generate_preprocess.py          # a venv with torch, torchvision, timm,
                                                               # transformers, scikit-image, Pillow
    python Fixtures/preprocess/generate_preprocess.py keras    # a venv with keras (and Pillow)

Images: crops of scikit-image's photos (skimage.data) at odd sizes, JPEG and PNG (IMAGES).

resize/<image>.<filter>.<w>x<h>.npy   uint8 [h, w, 3]: Pillow's Image.resize((w, h), filter) of
                                      Image.open(image).convert("RGB"), for NEAREST, BILINEAR and
                                      BICUBIC, shrinking, enlarging and both at once (RESIZES).
<image>.<pipeline>.npy                float32 [1, 3, s, s]: the framework's own transform of the
                                      opened image (both photos for BOTH_IMAGES, else the first;
                                      the keras ones from the keras run).
manifest.json                         per pipeline: the framework call that made it, the
                                      EfficientNetConfig.ImagePreprocessing a family stores for it
                                      ("config"), and whether the framework resizes with Pillow
                                      ("pillow": exact) or with torch kernels on tensors (not).
"""
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# name -> (skimage.data photo, crop box (left, top, right, bottom) in it, then resized to (w, h) by
# Pillow's LANCZOS so that no test filter made the input).
IMAGES = {
    "chelsea_143x97.jpg": ("chelsea", (60, 20, 400, 250), (143, 97)),
    "coffee_120x161.png": ("coffee", (150, 0, 450, 400), (120, 161)),
    "rocket_101x150.jpg": ("rocket", (50, 100, 377, 585), (101, 150)),
    "astronaut_37x29.png": ("astronaut", (100, 0, 400, 240), (37, 29)),
}
# image -> target (w, h) sizes for the plain resizes: shrinking, enlarging, and one of each.
RESIZES = {
    "chelsea_143x97.jpg": [(61, 41), (120, 40)],
    "coffee_120x161.png": [(47, 63)],
    "rocket_101x150.jpg": [(33, 97)],
    "astronaut_37x29.png": [(80, 61), (50, 20)],
}
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
# pipeline tag prefixes run on both photos (landscape JPEG, portrait JPEG); the others on the first.
PIPELINE_IMAGES = ["chelsea_143x97.jpg", "rocket_101x150.jpg"]
BOTH_IMAGES = ("tv_bicubic", "hf_bicubic", "keras_nearest")


def config(resize, crop, interpolation, mode="shorterSide", scale=1 / 255, mean=MEAN, std=STD):
    return {"resizeShorterTo": resize, "cropSize": crop, "pixelScale": scale, "mean": list(mean), "std": list(std),
            "interpolation": interpolation, "resizeMode": mode}


def open_rgb(name):
    return Image.open(os.path.join(HERE, name)).convert("RGB")


def make_images():
    from skimage import data
    for name, (photo, box, size) in IMAGES.items():
        img = Image.fromarray(getattr(data, photo)()).convert("RGB").crop(box).resize(size, Image.LANCZOS)
        path = os.path.join(HERE, name)
        if name.endswith(".jpg"):
            img.save(path, quality=90)
        else:
            img.save(path)


def torch_pipelines():
    """torchvision's weights' transform class, timm's create_transform and transformers' image
    processors, at small sizes (the operations are the same at any size)."""
    import timm
    import timm.data
    import torchvision
    import transformers
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms._presets import ImageClassification
    from transformers.models.efficientnet.image_processing_efficientnet import EfficientNetImageProcessor
    from transformers.models.efficientnet.image_processing_pil_efficientnet import EfficientNetImageProcessorPil

    pipelines = {}

    def tv(tag, resize, crop, interp):
        # what EfficientNet_B*_Weights.transforms() builds, e.g. B0: ImageClassification(crop_size=224,
        # resize_size=256, interpolation=BICUBIC); B7: 600, 600, BICUBIC
        t = ImageClassification(crop_size=crop, resize_size=resize, interpolation=InterpolationMode(interp))
        pipelines[tag] = {"call": f"torchvision ImageClassification(crop_size={crop}, resize_size={resize}, interpolation={interp})",
                          "pillow": True, "config": config(resize, crop, interp), "run": lambda img: t(img).unsqueeze(0)}

    tv("tv_bicubic_r46c40", 46, 40, "bicubic")      # B0's 256/224 ratio
    tv("tv_bilinear_r43c41", 43, 41, "bilinear")    # B1 V2's 255/240
    tv("tv_bicubic_r40c40", 40, 40, "bicubic")      # B7's 600/600
    tv("tv_bicubic_r160c40", 160, 40, "bicubic")    # enlarging

    def tm(tag, size, crop_pct, interp, mode=None):
        t = timm.data.create_transform(input_size=(3, size, size), crop_pct=crop_pct, crop_mode=mode, interpolation=interp,
                                       mean=MEAN, std=STD, is_training=False)
        import math
        resize = math.floor(size / crop_pct)
        pipelines[tag] = {"call": f"timm.data.create_transform(input_size=(3, {size}, {size}), crop_pct={crop_pct}, crop_mode={mode!r}, interpolation={interp!r})",
                          "pillow": True, "config": config(resize, size, interp, "exact" if mode == "squash" else "shorterSide"),
                          "run": lambda img: t(img).unsqueeze(0)}

    tm("timm_bicubic_c40_p875", 40, 0.875, "bicubic")
    tm("timm_bicubic_c42_p1", 42, 1.0, "bicubic")
    tm("timm_bilinear_c36_p9_squash", 36, 0.9, "bilinear", "squash")

    def hf(tag, cls, pillow, size, resample, **kw):
        p = cls(size={"height": size, "width": size}, resample=resample, image_mean=kw.get("image_mean", MEAN),
                image_std=kw.get("image_std", [0.47853944, 0.4732864, 0.47434163]),
                include_top=kw.get("include_top", True), rescale_offset=kw.get("rescale_offset", False))
        std = p.image_std
        ours_std = [s * s for s in std] if p.include_top else std
        ours_mean = [m + 1 for m in p.image_mean] if p.rescale_offset else p.image_mean
        interp = {0: "nearest", 2: "bilinear", 3: "bicubic"}[resample]
        pipelines[tag] = {"call": f"transformers {cls.__name__}(size={size}, resample={resample}, {kw}) (google/efficientnet-* image_std)",
                          "pillow": pillow, "config": config(size, size, interp, "exact", 1 / 255, ours_mean, ours_std),
                          "run": lambda img: p(img, return_tensors="pt")["pixel_values"]}

    # transformers 5's EfficientNetImageProcessor resizes uint8 tensors with torchvision (not
    # Pillow); the Pil variant is the Pillow path (and what transformers 4 did).
    hf("hf_bicubic_s44", EfficientNetImageProcessor, False, 44, 3)
    hf("hf_bilinear_s37", EfficientNetImageProcessor, False, 37, 2)
    hf("hfpil_bicubic_s44", EfficientNetImageProcessorPil, True, 44, 3)
    hf("hfpil_nearest_s35_offset", EfficientNetImageProcessorPil, True, 35, 0, rescale_offset=True, include_top=False,
       image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    versions = {"pillow": Image.__version__, "torchvision": torchvision.__version__.split("+")[0], "timm": timm.__version__,
                "transformers": transformers.__version__}
    return pipelines, versions


def keras_pipelines():
    """keras.utils.load_img(path, target_size=(s, s)) (nearest by default) + img_to_array: the
    Keras Applications docs' way; the model normalises inside."""
    import keras
    pipelines = {}
    for tag, size, interp in [("keras_nearest_s42", 42, "nearest"), ("keras_bilinear_s46", 46, "bilinear")]:
        def run(name, size=size, interp=interp):
            a = keras.utils.img_to_array(keras.utils.load_img(os.path.join(HERE, name), target_size=(size, size), interpolation=interp))
            return a.transpose(2, 0, 1)[None].astype(np.float32)
        pipelines[tag] = {"call": f"keras.utils.load_img(path, target_size=({size}, {size}), interpolation={interp!r}) + img_to_array, NHWC->NCHW",
                          "pillow": True, "config": config(size, size, interp, "exact", 1, [0, 0, 0], [1, 1, 1]), "run_path": run}
    return pipelines, {"keras": keras.__version__, "pillow_keras": Image.__version__}


def images_of(tag):
    return PIPELINE_IMAGES if tag.startswith(BOTH_IMAGES) else PIPELINE_IMAGES[:1]


def main():
    manifest_path = os.path.join(HERE, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {"pipelines": {}, "versions": {}}
    if sys.argv[1:] == ["keras"]:
        pipelines, versions = keras_pipelines()
        for tag, p in pipelines.items():
            for name in images_of(tag):
                np.save(os.path.join(HERE, f"{name}.{tag}.npy"), p["run_path"](name))
    else:
        make_images()
        os.makedirs(os.path.join(HERE, "resize"), exist_ok=True)
        resizes = []
        for name, sizes in RESIZES.items():
            img = open_rgb(name)
            for (w, h) in sizes:
                for fname, f in FILTERS.items():
                    out = f"resize/{name}.{fname}.{w}x{h}.npy"
                    np.save(os.path.join(HERE, out), np.asarray(img.resize((w, h), f), dtype=np.uint8))
                    resizes.append({"image": name, "filter": fname, "width": w, "height": h, "file": out})
        manifest["resizes"] = resizes
        manifest["images"] = {n: {"width": open_rgb(n).width, "height": open_rgb(n).height} for n in IMAGES}
        pipelines, versions = torch_pipelines()
        for tag, p in pipelines.items():
            for name in images_of(tag):
                x = p["run"](open_rgb(name))
                np.save(os.path.join(HERE, f"{name}.{tag}.npy"), np.asarray(x.numpy(), dtype=np.float32))
    for tag, p in pipelines.items():
        manifest["pipelines"][tag] = dict({k: v for k, v in p.items() if k in ("call", "pillow", "config")}, images=images_of(tag))
    manifest["versions"].update(versions)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(HERE) for f in fs)
    print("folder bytes:", total)


if __name__ == "__main__":
    main()

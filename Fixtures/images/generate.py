#!/usr/bin/env python3
"""Writes the small test images of Tests/EffNetImageTests and what Pillow + torchvision make of them.

Run (never in CI; deterministic):  python Fixtures/images/generate.py

Images (synthetic: gradients, edges, discs and a little noise, so resampling has work to do):
  photo_320x240.jpg        RGB baseline JPEG, quality 90, 4:2:0 (downscaled by the tests)
  progressive_150x200.jpg  RGB progressive JPEG, 4:2:2, portrait
  gray_100x75.jpg          greyscale JPEG
  cmyk_64x48.jpg           CMYK JPEG (Pillow writes Adobe-inverted CMYK)
  alpha_71x53.png          RGBA PNG with varying alpha (convert("RGB") drops it)
  gray_45x90.png           8-bit greyscale PNG, portrait
  palette_60x40.png        palette PNG with a transparent entry
  rgb16_40x30.png          16-bit RGB PNG (written by hand: Pillow cannot write it)

expected.json, per image: width, height, and the CRC-32 of Pillow's
`Image.open(p).convert("RGB")` bytes (row-major RGB8).

For every image and each preprocessing in PREPROCESSINGS:
  <image>.<tag>.npy         uint8 [crop, crop, 3]: Resize(resize) + CenterCrop(crop) on the PIL
                            image, i.e. what torchvision holds just before ToTensor.
For PAD_IMAGES also r24c31 (crop larger than the resized image: torchvision pads with zeros).
For the images in TENSOR_IMAGES:
  <image>.<tag>.tensor.npy  float32 [1, 3, crop, crop]: the whole seed-notebook pipeline
                            (Resize, CenterCrop, ToTensor, Normalize with ImageNet mean/std).
"""
import json
import os
import struct
import zlib

import numpy as np
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# tag -> (resize shorter side to, centre crop); r37c31 has odd sizes and a crop origin of x.5
PREPROCESSINGS = {"r48c40": (48, 40), "r37c31": (37, 31)}
TENSOR_IMAGES = ["photo_320x240.jpg", "alpha_71x53.png"]
# a crop larger than the resized image: torchvision pads with zeros before cropping
PAD_PREPROCESSING = {"r24c31": (24, 31)}
PAD_IMAGES = ["photo_320x240.jpg", "gray_45x90.png"]


def scene(w, h, seed):
    """A deterministic RGB float image in 0..255 with smooth and sharp structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 90 * np.sin(x / (w / 7.0)) * np.cos(y / (h / 5.0))
    g = 255 * (x + y) / (w + h)
    b = 60 + 150 * (((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) < (min(w, h) * 0.3) ** 2)
    img = np.stack([r, g, b], -1)
    img[h // 5: h // 3, w // 8: w // 2] = [250, 30, 20]          # a sharp red bar
    img[(x.astype(int) // 6 + y.astype(int) // 6) % 2 == 0] *= 0.85  # a checker texture
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def write_png16(path, rgb16):
    """A 16-bit RGB PNG, written with zlib (Pillow has no 16-bit RGB mode)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_images():
    photo = Image.fromarray(scene(320, 240, 1))
    photo.save(os.path.join(HERE, "photo_320x240.jpg"), quality=90, subsampling=2)
    Image.fromarray(scene(150, 200, 2)).save(os.path.join(HERE, "progressive_150x200.jpg"),
                                              quality=85, subsampling=1, progressive=True)
    Image.fromarray(scene(100, 75, 3)).convert("L").save(os.path.join(HERE, "gray_100x75.jpg"), quality=90)
    Image.fromarray(scene(64, 48, 4)).convert("CMYK").save(os.path.join(HERE, "cmyk_64x48.jpg"), quality=95)

    rgb = scene(71, 53, 5)
    alpha = np.tile(np.linspace(0, 255, 71).astype(np.uint8), (53, 1))[..., None]
    Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA").save(os.path.join(HERE, "alpha_71x53.png"))
    Image.fromarray(scene(45, 90, 6)).convert("L").save(os.path.join(HERE, "gray_45x90.png"))
    pal = Image.fromarray(scene(60, 40, 7)).quantize(colors=16)
    pal.save(os.path.join(HERE, "palette_60x40.png"), transparency=0)

    rng = np.random.default_rng(8)
    base = scene(40, 30, 8).astype(np.uint16) * 257
    write_png16(os.path.join(HERE, "rgb16_40x30.png"), base + rng.integers(0, 257, base.shape, dtype=np.uint16))


def main():
    make_images()
    names = ["photo_320x240.jpg", "progressive_150x200.jpg", "gray_100x75.jpg", "cmyk_64x48.jpg",
             "alpha_71x53.png", "gray_45x90.png", "palette_60x40.png", "rgb16_40x30.png"]
    expected = {"pillow": Image.__version__, "torchvision": torchvision.__version__.split("+")[0], "images": {}}
    for name in names:
        img = Image.open(os.path.join(HERE, name)).convert("RGB")   # as the seed notebook opens images
        rgb = np.asarray(img)
        expected["images"][name] = {"width": img.width, "height": img.height,
                                    "crc32": "%08x" % (zlib.crc32(rgb.tobytes()) & 0xFFFFFFFF),
                                    "mode": Image.open(os.path.join(HERE, name)).mode}
        pre = dict(PREPROCESSINGS, **(PAD_PREPROCESSING if name in PAD_IMAGES else {}))
        for tag, (resize, crop) in pre.items():
            cropped = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop)])(img)
            np.save(os.path.join(HERE, f"{name}.{tag}.npy"), np.asarray(cropped, dtype=np.uint8))
            if name in TENSOR_IMAGES and tag in PREPROCESSINGS:
                full = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor(),
                                           transforms.Normalize(mean=MEAN, std=STD)])
                x = full(img).unsqueeze(0).numpy().astype(np.float32)
                np.save(os.path.join(HERE, f"{name}.{tag}.tensor.npy"), x)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE))
    print(json.dumps(expected, indent=1), "\nfolder bytes:", total)


if __name__ == "__main__":
    main()

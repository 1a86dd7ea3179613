"""Hugging Face transformers EfficientNet fixtures (issue 14): small EfficientNetForImageClassification
models with random init and randomised BN statistics, saved by transformers' own save_pretrained
(model.safetensors, and pytorch_model.bin), with the model's own logits on seeded inputs.

    python Fixtures/generate_hf.py        # transformers cases; in a venv with torch, transformers, numpy
    python Fixtures/generate_hf.py timm   # timm hub folders (timm's save_for_hf); needs timm, safetensors

Cases (Fixtures/hf/<case>/):
  hf_b0_like      width 0.25, depth 0.34, 7 labels, depthwise_padding []   (safetensors)
  hf_dwpad        the same with depthwise_padding on two stride-2 blocks    (pytorch_model.bin)
  timm_hub_tf     timm tf_efficientnet_b0 scaled (width 0.25, depth 0.34), 6 classes, save_for_hf
  timm_hub        the same architecture with PyTorch padding (efficientnet_b0)
Each folder: config.json (+ id2label for transformers), the weights, input_64.npy / input_67.npy (NCHW float32),
expected_64.npy / expected_67.npy (logits from transformers), info.json.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import EfficientNetConfig, EfficientNetForImageClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_v2 import calibrate, scale_logits, save_npy, inputs_for  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf")


def hidden_dim(width):
    # transformers' round_filters(config, 1280): top_bn is built with config.hidden_dim, so they must agree.
    v = 1280 * width
    new = max(8, int(v + 4) // 8 * 8)
    if new < 0.9 * v:
        new += 8
    return new


def build(dwpad, seed):
    torch.manual_seed(seed)
    cfg = EfficientNetConfig(width_coefficient=0.25, depth_coefficient=0.34, image_size=64,
                             hidden_dim=hidden_dim(0.25), depthwise_padding=dwpad, num_labels=7,
                             id2label={i: f"class_{i}" for i in range(7)},
                             label2id={f"class_{i}": i for i in range(7)})
    model = EfficientNetForImageClassification(cfg).eval()
    return model


class Logits(torch.nn.Module):
    """transformers' model returning plain logits (for calibrate/scale_logits)."""
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.classifier = m.classifier

    def forward(self, x):
        return self.m(pixel_values=x).logits


@torch.no_grad()
def make(name, dwpad, seed, safe):
    gen = torch.Generator().manual_seed(seed)
    model = build(dwpad, seed)
    wrapped = Logits(model)
    calibrate(wrapped, gen)
    x = inputs_for(seed)
    scale_logits(wrapped, torch.from_numpy(x["64"]), gen)
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    model.save_pretrained(folder)
    if not safe:
        # Recent transformers always writes safetensors; pytorch_model.bin is what older ones wrote
        # (torch.save of the state dict) and what many hub folders still hold.
        os.remove(os.path.join(folder, "model.safetensors"))
        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    files = sorted(os.listdir(folder))
    for tag, arr in x.items():
        save_npy(os.path.join(folder, f"input_{tag}.npy"), arr)
        out = model(pixel_values=torch.from_numpy(arr)).logits.numpy()
        save_npy(os.path.join(folder, f"expected_{tag}.npy"), out)
    # Reload from disk and check the saved weights reproduce the outputs.
    again = EfficientNetForImageClassification.from_pretrained(folder).eval()
    for tag, arr in x.items():
        a = again(pixel_values=torch.from_numpy(arr)).logits.numpy()
        b = np.load(os.path.join(folder, f"expected_{tag}.npy"))
        assert np.abs(a - b).max() < 1e-6, (name, tag)
    blocks = [dict(expand="expansion" in dict(b.named_children()),
                   kernel=b.depthwise_conv.depthwise_conv.kernel_size[0],
                   stride=b.depthwise_conv.stride,
                   adjust_padding=bool(tuple(b.depthwise_conv.depthwise_conv_pad.padding)[0]
                                       != b.depthwise_conv.depthwise_conv.kernel_size[0] // 2),
                   residual=bool(b.projection.apply_dropout))
              for b in model.efficientnet.encoder.blocks]
    info = dict(case=name, transformers=transformers.__version__, torch=torch.__version__,
                builder_call=f"EfficientNetForImageClassification(EfficientNetConfig(width_coefficient=0.25, depth_coefficient=0.34, image_size=64, hidden_dim={hidden_dim(0.25)}, depthwise_padding={dwpad}, num_labels=7))",
                files=files, depthwise_padding=dwpad, bn_eps=model.config.batch_norm_eps, blocks=blocks,
                num_labels=7, parameters=sum(p.numel() for p in model.parameters()))
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    print(name, files, len(blocks), "blocks", info["parameters"], "parameters")


def main():
    make("hf_b0_like", [], 41, True)
    # Blocks 1 and 3 are the first blocks of stages 2 and 3 (stride 2) at depth 0.34.
    make("hf_dwpad", [1, 3], 42, False)


if __name__ == "__main__" and len(sys.argv) == 1:
    main()


# ---------------------------------------------------------------------------------------------
# timm hub folders (timm's own save_for_hf): config.json with architecture, num_classes and
# pretrained_cfg beside model.safetensors. A tf_ port and a PyTorch-padding model with the same
# names: only the config's architecture tells them apart.

def make_timm(name, variant, seed):
    import timm
    from timm.models.efficientnet import _gen_efficientnet
    from timm.models import _hub as push_to_hub  # save_for_hf (timm.models.push_to_hub in older timm)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    tf = variant.startswith("tf_")
    extra = dict(bn_eps=1e-3, pad_type="same") if tf else {}
    model = _gen_efficientnet(variant, channel_multiplier=0.25, depth_multiplier=0.34, pretrained=False,
                              num_classes=6, **extra).eval()
    with torch.no_grad():
        calibrate(model, gen)
        x = inputs_for(seed)
        scale_logits(model, torch.from_numpy(x["64"]), gen)
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    push_to_hub.save_for_hf(model, folder, safe_serialization=True)
    with torch.no_grad():
        for tag, arr in x.items():
            save_npy(os.path.join(folder, f"input_{tag}.npy"), arr)
            save_npy(os.path.join(folder, f"expected_{tag}.npy"), model(torch.from_numpy(arr)).numpy())
    eps = sorted({m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)})
    tf_args = ", bn_eps=1e-3, pad_type='same'" if tf else ""
    info = dict(case=name, timm=timm.__version__, torch=torch.__version__, bn_eps=eps,
                builder_call=f"timm.models.efficientnet._gen_efficientnet('{variant}', channel_multiplier=0.25, depth_multiplier=0.34, num_classes=6{tf_args}); timm.models._hub.save_for_hf(model, folder, safe_serialization=True)",
                files=sorted(os.listdir(folder)))
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    print(name, info["files"])


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "timm":
    make_timm("timm_hub_tf", "tf_efficientnet_b0", 43)
    make_timm("timm_hub", "efficientnet_b0", 44)

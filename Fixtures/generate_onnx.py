#!/usr/bin/env python3
"""Generates the ONNX fixtures of EffNetKit's ONNX tests from real PyTorch exports.

Run with the torch virtual environment (never needed by CI; the outputs are committed):

    python Fixtures/generate_onnx.py

Keras exports through tf2onnx come from Fixtures/generate_onnx_tf.py (the tf environment).

Every case is a folder Fixtures/onnx/<case>/ holding
    model.onnx (+ model.onnx.data for external data)   the real exporter's output
    input.npy            NCHW float32 batch (2 images)
    source_output.npy    what the source framework (PyTorch, eval mode) computed for input.npy
    ort_output.npy       what ONNX Runtime computed for input.npy on model.onnx
    case.json            what the case is meant to exercise (exporter, opset, expected conventions)
plus hand-built models for the reader's safety tests (external data escapes, typed data fields).

Models are tiny width/depth-scaled EfficientNets with randomised batch-norm statistics (train-mode
passes with momentum None, i.e. a cumulative average), so a wrong epsilon, padding or folding shows
up far above the 1e-4 tolerance.
"""
import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

warnings.filterwarnings("ignore")
OUT = Path(__file__).resolve().parent / "onnx"


# ---------------------------------------------------------------------------------------------
# Models

def torchvision_model(width, depth, classes):
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    return EfficientNet(setting, dropout=0.2, num_classes=classes, last_channel=last)


def timm_model(variant, width, depth, classes, **kwargs):
    from timm.models import efficientnet as e
    if "lite" in variant:
        return e._gen_efficientnet_lite(variant, channel_multiplier=width, depth_multiplier=depth,
                                        pretrained=False, num_classes=classes, **kwargs)
    if variant.startswith("tf_"):
        kwargs.setdefault("bn_eps", 1e-3)
        kwargs.setdefault("pad_type", "same")
    return e._gen_efficientnet(variant, channel_multiplier=width, depth_multiplier=depth,
                               pretrained=False, num_classes=classes, **kwargs)


def lukemelas_model(width, depth, classes, image_size):
    from efficientnet_pytorch import EfficientNet
    m = EfficientNet.from_name("efficientnet-b0", width_coefficient=width, depth_coefficient=depth,
                               image_size=image_size, num_classes=classes)
    m.set_swish(memory_efficient=False)  # the memory-efficient autograd Function does not export
    return m


class SeedSE(nn.Module):
    """The seed notebook's SEModule, verbatim apart from the class name."""
    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(channels, hidden, kernel_size=1), nn.SiLU(inplace=True),
                                nn.Conv2d(hidden, channels, kernel_size=1), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(self.pool(x))


class SeedMBConv(nn.Module):
    """The seed notebook's MBConv."""
    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, expand_ratio=6, se_ratio=0.25):
        super().__init__()
        self.use_res = stride == 1 and in_ch == out_ch
        mid = in_ch if expand_ratio == 1 else in_ch * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_ch, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.SiLU(inplace=True)]
        layers += [nn.Conv2d(mid, mid, kernel_size, stride, kernel_size // 2, groups=mid, bias=False),
                   nn.BatchNorm2d(mid), nn.SiLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.se = SeedSE(mid, reduction=int(1 / se_ratio))
        self.project = nn.Sequential(nn.Conv2d(mid, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x):
        y = self.project(self.se(self.features(x)))
        return y + x if self.use_res else y


class SeedMini(nn.Module):
    """The seed notebook's EfficientNetB0Mini with its stage table narrowed (fixtures stay small)."""
    def __init__(self, classes, cfg, stem=16, head=160):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.SiLU(inplace=True))
        blocks, in_ch = [], stem
        for out_ch, k, s, exp, reps in cfg:
            for i in range(reps):
                blocks.append(SeedMBConv(in_ch, out_ch, k, s if i == 0 else 1, exp))
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(in_ch, head, 1, bias=False), nn.BatchNorm2d(head), nn.SiLU(inplace=True),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(head, classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class Normalize(nn.Module):
    """torchvision-style input normalisation inside the model: (x - mean) / std per channel."""
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


SEED_CFG = [(8, 3, 1, 1, 1), (12, 3, 2, 6, 1), (16, 5, 2, 6, 1), (24, 3, 2, 3, 2), (32, 5, 2, 3, 1)]


# ---------------------------------------------------------------------------------------------
# Real statistics without training

def randomise(model, size, seed):
    """Random BN affine parameters and running statistics from train-mode passes (momentum None =
    cumulative average); classifier scaled so logits spread over a few units."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.num_features, generator=g) * 1.0 + 0.5)
            bn.bias.copy_(torch.randn(bn.num_features, generator=g) * 0.2)
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, size, size, generator=g) * 1.5 + 0.2)
        for bn in bns:
            bn.momentum = 0.1
        # SE and classifier biases are zero-initialised by some families: make every bias distinct
        # so an exporter cannot deduplicate them (and a swapped bias cannot go unnoticed).
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    model.eval()
    return model


# ---------------------------------------------------------------------------------------------
# Export and reference outputs

def ort_run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def strip_paths(path):
    """Drops the dynamo exporter's per-node stack traces: they name source files of the machine
    that ran the export (nothing in the repository may)."""
    m = onnx.load(str(path), load_external_data=False)
    changed = False
    for node in m.graph.node:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        if len(keep) != len(node.metadata_props):
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
            changed = True
    if changed:
        onnx.save(m, str(path))


def export_case(name, model, size, exporter, opset, facts, seed=0, rtol_note=None, **export_kwargs):
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(1000 + seed)
    x = (torch.randn(2, 3, size, size, generator=g) * 1.2).float()
    with torch.no_grad():
        y = model(x).float().numpy()
    path = folder / "model.onnx"
    if exporter == "torchscript":
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"], **export_kwargs)
    else:
        torch.onnx.export(model, (x,), str(path), dynamo=True, opset_version=opset,
                          input_names=["input"], output_names=["logits"], external_data=True, **export_kwargs)
    strip_paths(path)
    xn = x.numpy()
    y_ort = ort_run(path, xn)
    np.save(folder / "input.npy", xn)
    np.save(folder / "source_output.npy", y)
    np.save(folder / "ort_output.npy", y_ort)
    m = onnx.load(str(path), load_external_data=False)
    ops = sorted({n.op_type for n in m.graph.node})
    err = float(np.abs(y - y_ort).max() / max(1.0, np.abs(y).max()))
    info = dict(case=name, exporter=exporter, opset=opset, producer=f"{m.producer_name} {m.producer_version}",
                input_shape=list(xn.shape), ops=ops, torch_vs_ort_relative=err, **facts)
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    size_kb = sum(p.stat().st_size for p in folder.iterdir()) // 1024
    print(f"{name}: {exporter} opset {opset}, {size_kb} KB, torch vs ORT {err:.2e}, ops {ops}")
    return folder


# ---------------------------------------------------------------------------------------------
# Hand-built models for the reader's own tests (onnx.helper, checked with onnx.checker and ORT)

def tiny_graph_model(initializers, extra_nodes=(), opset=13):
    """y = Conv(x, W, B) with W/B given as TensorProtos, optionally more nodes; 1x2x4x4 input."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["y"], name="conv", kernel_shape=[1, 1])] + list(extra_nodes)
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="effnetkit-fixtures")


def write_external(folder, model, name, location, offset=0, data=None, length=None):
    """Points initializer `name` at external `location` (no data written unless `data`)."""
    for t in model.graph.initializer:
        if t.name == name:
            raw = numpy_helper.to_array(t).tobytes()
            t.ClearField("raw_data")
            t.ClearField("float_data")
            t.data_location = TensorProto.EXTERNAL
            del t.external_data[:]
            for k, v in [("location", location), ("offset", str(offset)), ("length", str(length if length is not None else len(raw)))]:
                e = t.external_data.add()
                e.key, e.value = k, v
            if data is not None:
                (folder / data).write_bytes(b"\0" * offset + raw)
            return raw
    raise KeyError(name)


def reader_cases():
    folder = OUT / "reader"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 2, 1, 1)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    np.save(folder / "x.npy", x)

    def save(model, fname, run=True):
        onnx.save(model, str(folder / fname))
        if run:
            np.save(folder / (fname[:-5] + "_ort.npy"), ort_run(folder / fname, x))

    # Typed fields rather than raw_data: float_data, double, fp16 and bf16 (in int32_data), int64.
    wt = helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.flatten().tolist())             # float_data
    bt = helper.make_tensor("B", TensorProto.FLOAT, b.shape, b.tobytes(), raw=True)            # raw_data
    save(tiny_graph_model([wt, bt]), "float_data.onnx")

    # onnx.helper takes float values and stores FLOAT16/BFLOAT16 as bit patterns in int32_data.
    w16t = helper.make_tensor("W16", TensorProto.FLOAT16, w.shape, w.astype(np.float16).astype(np.float32).flatten().tolist())
    bft = helper.make_tensor("Bbf", TensorProto.BFLOAT16, b.shape, b.flatten().tolist())
    assert len(w16t.int32_data) == 6 and len(bft.int32_data) == 3 and not w16t.raw_data
    dt = helper.make_tensor("D", TensorProto.DOUBLE, [3], [0.5, -1.25, 3.0])
    it = helper.make_tensor("I", TensorProto.INT64, [2], [7, -9])
    i32 = helper.make_tensor("I32", TensorProto.INT32, [2], [5, -6])
    u8 = helper.make_tensor("U8", TensorProto.UINT8, [3], [0, 200, 255])
    casts = [helper.make_node("Cast", ["W16"], ["W"], name="cast_w", to=TensorProto.FLOAT),
             helper.make_node("Cast", ["Bbf"], ["B"], name="cast_b", to=TensorProto.FLOAT)]
    m = tiny_graph_model([w16t, bft, dt, it, i32, u8])
    m.graph.node.insert(0, casts[1])
    m.graph.node.insert(0, casts[0])
    save(m, "typed_fields.onnx")
    meta = {t.name: numpy_helper.to_array(t).astype(np.float32).flatten().tolist() for t in (w16t, bft)}
    (folder / "typed_fields.json").write_text(json.dumps(meta) + "\n")

    # Constant nodes: value (tensor), value_float(s), value_int(s).
    consts = [helper.make_node("Constant", [], ["W"], name="cw", value=numpy_helper.from_array(w, "W")),
              helper.make_node("Constant", [], ["B"], name="cb", value_floats=b.tolist()),
              helper.make_node("Constant", [], ["s"], name="cs", value_float=2.5),
              helper.make_node("Constant", [], ["k"], name="ck", value_int=4),
              helper.make_node("Constant", [], ["ks"], name="cks", value_ints=[1, 2, 3])]
    m = tiny_graph_model([])
    for c in reversed(consts):
        m.graph.node.insert(0, c)
    save(m, "constants.onnx")

    # External data: a good one, with an offset, and every kind of escape.
    m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    write_external(folder, m, "W", "weights.bin", offset=16, data="weights.bin")
    save(m, "external_ok.onnx")
    for fname, loc in [("escape_dotdot.onnx", "../outside.bin"), ("escape_absolute.onnx", "/etc/hostname"),
                       ("escape_symlink.onnx", "link.bin"), ("escape_nested_dotdot.onnx", "sub/../../outside.bin")]:
        m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
        write_external(folder, m, "W", loc)
        save(m, fname, run=False)
    # Declared length that does not fit the tensor, and an offset past the end of the file.
    m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    write_external(folder, m, "W", "weights.bin", offset=16, length=20)
    save(m, "external_bad_length.onnx", run=False)
    m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    write_external(folder, m, "W", "weights.bin", offset=4096)
    save(m, "external_past_end.onnx", run=False)
    # A tensor beyond 2 GB: the test writes big.bin as a sparse file with W at this offset.
    m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    write_external(folder, m, "W", "big.bin", offset=(1 << 31) + 4096 * 3)
    save(m, "external_beyond_2gb.onnx", run=False)
    (folder / "big_offset.txt").write_text(str((1 << 31) + 4096 * 3) + "\n")
    # An unsupported operator, named in the error.
    m = tiny_graph_model([numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
                         extra_nodes=[helper.make_node("LpNormalization", ["y"], ["z"], name="the_lpnorm")])
    m.graph.output[0].name = "z"
    save(m, "unsupported_op.onnx", run=False)
    print(f"reader: {sorted(p.name for p in folder.iterdir())}")


def surgery_case():
    """seed_unfolded_ts13 with its pooling rewritten the way other converters write it (same maths):
    the head pools NHWC (Transpose(0,2,3,1) + ReduceMean over axes 1, 2), the first SE pools with an
    AveragePool over the whole 32x32 map, the second with ReduceMean over axes 2, 3."""
    src, folder = OUT / "seed_unfolded_ts13", OUT / "seed_surgery_ts13"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    m = onnx.load(str(src / "model.onnx"))
    nodes = list(m.graph.node)
    pools = [i for i, n in enumerate(nodes) if n.op_type == "GlobalAveragePool"]
    head, se0, se1 = pools[-1], pools[0], pools[1]
    n = nodes[head]
    t = helper.make_node("Transpose", [n.input[0]], ["head_nhwc"], name="head_to_nhwc", perm=[0, 2, 3, 1])
    r = helper.make_node("ReduceMean", ["head_nhwc"], [n.output[0]], name="head_mean_nhwc", axes=[1, 2], keepdims=1)
    nodes[head:head + 1] = [t, r]
    n = nodes[se1]
    nodes[se1] = helper.make_node("ReduceMean", [n.input[0]], [n.output[0]], name="se1_mean", axes=[2, 3], keepdims=1)
    n = nodes[se0]
    nodes[se0] = helper.make_node("AveragePool", [n.input[0]], [n.output[0]], name="se0_avgpool", kernel_shape=[32, 32])
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(folder / "model.onnx"))
    for f in ["input.npy", "source_output.npy"]:
        shutil.copy(src / f, folder / f)
    x = np.load(folder / "input.npy")
    y_ort = ort_run(folder / "model.onnx", x)
    np.save(folder / "ort_output.npy", y_ort)
    info = json.loads((src / "case.json").read_text())
    info.update(case="seed_surgery_ts13", ops=sorted({n.op_type for n in m.graph.node}),
                torch_vs_ort_relative=float(np.abs(np.load(folder / "source_output.npy") - y_ort).max()))
    (folder / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"seed_surgery_ts13: ops {info['ops']}, source vs ORT {info['torch_vs_ort_relative']:.2e}")


def dead_if_case():
    """reader/dead_if.onnx: seed_softmax_ts17 with an If node (no outputs, Constant subgraphs) in
    front. The graph walk maps the weights; the reference interpreter refuses If, and that error
    line must name the file."""
    m = onnx.load(OUT / "seed_softmax_ts17/model.onnx")
    g = m.graph
    g.initializer.append(helper.make_tensor("if_cond", TensorProto.BOOL, [], [True]))
    branch = helper.make_graph([helper.make_node("Constant", [], ["branch_out"], value_float=1.0)], "branch", [],
                               [helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, None)])
    g.node.insert(0, helper.make_node("If", ["if_cond"], [], then_branch=branch, else_branch=branch))
    onnx.save(m, OUT / "reader/dead_if.onnx")


# ---------------------------------------------------------------------------------------------

def main():
    torch.manual_seed(0)
    OUT.mkdir(exist_ok=True)
    only = set(sys.argv[1:])

    def want(n):
        return not only or n in only

    if want("reader"):
        reader_cases()
    sym = dict(padding="symmetric", bn_eps=1e-5, activation="silu")
    if want("torchvision_ts13"):
        m = randomise(torchvision_model(0.25, 0.25, 7), 64, 1)
        export_case("torchvision_ts13", m, 64, "torchscript", 13, dict(family="torchvision", **sym), seed=1)
    if want("torchvision_dynamo18"):
        m = randomise(torchvision_model(0.25, 0.25, 7), 64, 2)
        export_case("torchvision_dynamo18", m, 64, "dynamo", 18, dict(family="torchvision", **sym), seed=2)
    if want("timm_ts17"):
        m = randomise(timm_model("efficientnet_b0", 0.25, 0.3, 5), 72, 3)
        export_case("timm_ts17", m, 72, "torchscript", 17, dict(family="timm", **sym), seed=3)
    if want("timm_tf_ts13"):
        m = randomise(timm_model("tf_efficientnet_b0", 0.25, 0.3, 5), 72, 4)
        # Dynamic height and width: the SAME padding stays shape arithmetic (Shape -> ... -> Pad).
        export_case("timm_tf_ts13", m, 72, "torchscript", 13,
                    dict(family="timm-tf", padding="sameDynamic", bn_eps=1e-3, activation="silu"), seed=4,
                    dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}})
    if want("timm_tf_dynamo18"):
        m = randomise(timm_model("tf_efficientnet_b0", 0.25, 0.3, 5), 72, 5)
        # Static shapes: the exporter folds the SAME arithmetic into asymmetric Conv pads.
        export_case("timm_tf_dynamo18", m, 72, "dynamo", 18,
                    dict(family="timm-tf", padding="sameStatic", image_size=[72, 72], bn_eps=1e-3, activation="silu"), seed=5)
    if want("lite_ts17"):
        m = randomise(timm_model("efficientnet_lite0", 0.25, 0.25, 4), 64, 6)
        export_case("lite_ts17", m, 64, "torchscript", 17,
                    dict(family="lite", padding="symmetric", bn_eps=1e-5, activation="relu6"), seed=6)
    if want("lukemelas_ts13"):
        # Static SAME padding computed from image_size 64 while the export runs at 72. Width 0.35 keeps
        # the stem (16) and the first block (8) apart: lukemelas never adds the residual to the first
        # block of a stage (its stride is the list [1], and [1] != 1), so in == out there would make a
        # block that no MBConv config describes.
        m = randomise(lukemelas_model(0.35, 0.3, 6, 64), 64, 7)
        export_case("lukemelas_ts13", m, 72, "torchscript", 13,
                    dict(family="lukemelas", padding="sameStatic", image_size=[64, 64], bn_eps=1e-3, activation="silu"), seed=7)
    if want("seed_unfolded_ts13"):
        # BN kept as BatchNormalization nodes (no constant folding, training mode preserved).
        m = randomise(SeedMini(3, SEED_CFG), 64, 8)
        export_case("seed_unfolded_ts13", m, 64, "torchscript", 13, dict(family="seed", bn_folded=False, **sym),
                    seed=8, do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    if want("seed_surgery_ts13"):
        surgery_case()
    if want("seed_softmax_ts17"):
        # NCHW preprocessing (Sub/Div by per-channel constants) in front, Softmax at the end.
        m = nn.Sequential(Normalize(), randomise(SeedMini(3, SEED_CFG), 64, 9), nn.Softmax(dim=1)).eval()
        export_case("seed_softmax_ts17", m, 64, "torchscript", 17,
                    dict(family="seed", final_softmax=True, input_transform=True, **sym), seed=9)
    if want("hf_ts17") or want("hf_dynamo18"):
        # transformers' EfficientNetForImageClassification: stem ZeroPad2d((0, 1, 0, 1)) + valid
        # conv, depthwise "same"/"valid" padding per depthwise_padding, AvgPool2d(ceil_mode=True),
        # and a stage's first block never adding its input.
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from generate_hf import build, Logits
        # Per-convolution pads (stem (0, 1, 0, 1); stride-2 depthwise (k//2 - 1, k//2) or, for the
        # blocks in depthwise_padding, k//2 each side): fixed pads of a static-size graph.
        hf = dict(family="hf", padding="sameStatic", bn_eps=1e-3, activation="silu")
        for name, exporter, opset, seed in (("hf_ts17", "torchscript", 17, 10), ("hf_dynamo18", "dynamo", 18, 11)):
            if want(name):
                m = randomise(Logits(build([1, 3], 500 + seed)), 64, seed)
                export_case(name, m, 64, exporter, opset, dict(depthwise_padding=[1, 3], **hf), seed=seed)
    if want("dead_if"):
        dead_if_case()


if __name__ == "__main__":
    main()

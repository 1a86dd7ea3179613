"""Archives written by real torch.save, for the PyTorch archive writer's tests.

Run with a Python that has torch and numpy installed (the torch venv of Fixtures/README.md):

    python Fixtures/export/generate_torch_archive.py

Writes, next to this script:
  torch_saved.pth       torch.save(state_dict, "torch_saved.pth"): float32 tensors of every rank
                        (conv weight, BN weight/bias/running stats with random statistics), a 0-d
                        int64 num_batches_tracked, a float16 tensor, a 0-d float32, an int64
                        vector with values past 32 bits, an empty (0 x 3) tensor
  torch_saved.npz       the same tensors, in the same order (np.savez), for the Swift test and
                        scripts/check-torch-pickle.py
  torch_saved_many.pth  1001 small tensors (past pickle's 1000-item SETITEMS batch and the 256
                        one-byte memo slots): `layer{i}.weight` = [i, i + 0.5] as float32, and
                        every 7th `layer{i}.num_batches_tracked` = i as a 0-d int64 instead
                        (the Swift test rebuilds the same values)
  torch_saved.txt       pickletools' disassembly of torch_saved.pth's data.pkl, for reading

TorchArchiveWriterTests re-writes these tensors with TorchArchiveWriter and compares its archive
with torch's byte for byte (all but the first 20 digits of .data/serialization_id).
"""
import collections
import io
import os
import pickletools
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    g = torch.Generator().manual_seed(15)
    sd = collections.OrderedDict()
    sd["stem.conv.weight"] = torch.randn(8, 3, 3, 3, generator=g)
    sd["stem.bn.weight"] = torch.rand(8, generator=g) + 0.5
    sd["stem.bn.bias"] = torch.randn(8, generator=g) * 0.1
    sd["stem.bn.running_mean"] = torch.randn(8, generator=g) * 0.2
    sd["stem.bn.running_var"] = torch.rand(8, generator=g) + 0.5
    sd["stem.bn.num_batches_tracked"] = torch.tensor(12345, dtype=torch.int64)
    sd["head.weight"] = torch.randn(4, 8, generator=g).half()
    sd["head.bias"] = torch.randn(4, generator=g)
    sd["temperature"] = torch.tensor(0.5)
    sd["counts"] = torch.tensor([2**40, -3, 70000, 300], dtype=torch.int64)
    sd["empty"] = torch.zeros(0, 3)
    torch.save(sd, os.path.join(HERE, "torch_saved.pth"))
    np.savez(os.path.join(HERE, "torch_saved.npz"), **{k: v.numpy() for k, v in sd.items()})

    many = collections.OrderedDict()
    for i in range(1001):
        if i % 7 == 0:
            many[f"layer{i}.num_batches_tracked"] = torch.tensor(i, dtype=torch.int64)
        else:
            many[f"layer{i}.weight"] = torch.tensor([i, i + 0.5], dtype=torch.float32)
    torch.save(many, os.path.join(HERE, "torch_saved_many.pth"))

    # What torch.load(weights_only=True) gives back must be what went in.
    for name, expected in [("torch_saved.pth", sd), ("torch_saved_many.pth", many)]:
        loaded = torch.load(os.path.join(HERE, name), weights_only=True)
        assert type(loaded) is collections.OrderedDict and list(loaded) == list(expected)
        for k in expected:
            assert loaded[k].dtype == expected[k].dtype and torch.equal(loaded[k], expected[k]), k

    with zipfile.ZipFile(os.path.join(HERE, "torch_saved.pth")) as z:
        out = io.StringIO()
        pickletools.dis(z.read("torch_saved/data.pkl"), out=out)
        with open(os.path.join(HERE, "torch_saved.txt"), "w") as f:
            f.write(f"torch {torch.__version__}\n")
            for info in z.infolist():
                f.write(f"{info.filename} offset {info.header_offset} size {info.file_size} crc {info.CRC:08x}\n")
            f.write(out.getvalue())
    print("wrote", ", ".join(sorted(f for f in os.listdir(HERE) if f.startswith("torch_saved"))))


if __name__ == "__main__":
    main()

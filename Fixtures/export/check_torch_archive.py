"""Loads a Swift-written PyTorch archive with the real torch.load(weights_only=True).

Usage (a Python with torch and numpy installed; torchvision for --torchvision):

    python Fixtures/export/check_torch_archive.py ARCHIVE.pth EXPECTED.npz
    python Fixtures/export/check_torch_archive.py ARCHIVE.pth --torchvision efficientnet_b7

EXPECTED.npz holds the tensors the archive must give back, in order (TorchArchiveWriterTests
writes `swift_written.pth` and `swift_written.npz` into $EFFNET_EXPORT_ARCHIVE_DIR). Checks that
torch.load with weights_only=True (torch's restricted unpickler) returns an OrderedDict with
exactly those keys in that order, each a contiguous CPU tensor with the array's dtype, shape and
bytes, requires_grad False; and that torch.load with mmap=True (which needs the 64-byte
alignment) gives the same. Prints 'N passed, M failed' and exits 1 on any failure.
With --torchvision NAME instead of EXPECTED.npz: torchvision.models.NAME() loads the archive
with load_state_dict(strict=True) (Benchmarks/torch_write_vs_cp.sh writes a B7-sized one).
CI has no torch: scripts/check-torch-pickle.py checks the same archive with stdlib pickle.
"""
import collections
import sys

import numpy as np
import torch

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


def check_torchvision(archive, name):
    import torchvision

    state = torch.load(archive, weights_only=True, mmap=True)
    model = getattr(torchvision.models, name)()
    result = model.load_state_dict(state, strict=True)
    check(not result.missing_keys and not result.unexpected_keys, f"strict load: {result}")
    current = model.state_dict()  # random bit patterns include NaNs: compare bytes
    check(all(current[k].numpy().tobytes() == v.numpy().tobytes() for k, v in state.items()), "loaded values")
    print(f"{passed} passed, {failed} failed (torch {torch.__version__}, torchvision {name} strict load of {archive}: {len(state)} tensors)")
    sys.exit(1 if failed else 0)


def main():
    archive, expected_path = sys.argv[1], sys.argv[2]
    if expected_path == "--torchvision":
        check_torchvision(archive, sys.argv[3])
    expected = np.load(expected_path)
    names = list(expected.files)
    for mmap in (False, True):
        state = torch.load(archive, weights_only=True, mmap=mmap)
        check(type(state) is collections.OrderedDict, f"mmap={mmap}: an OrderedDict, not {type(state).__name__}")
        check(list(state) == names, f"mmap={mmap}: keys {list(state)[:5]}... vs {names[:5]}...")
        for name in names:
            t, want = state.get(name), torch.from_numpy(expected[name].copy(order="C"))  # ascontiguousarray makes 0-d 1-d
            if not isinstance(t, torch.Tensor):
                check(False, f"{name}: not a tensor")
                continue
            check(t.dtype == want.dtype, f"{name}: dtype {t.dtype} vs {want.dtype}")
            check(tuple(t.shape) == tuple(want.shape), f"{name}: shape {tuple(t.shape)} vs {tuple(want.shape)}")
            check(t.is_contiguous() and t.device.type == "cpu" and not t.requires_grad, f"{name}: layout")
            check(t.numpy().tobytes() == want.numpy().tobytes(), f"{name}: bytes")
    print(f"{passed} passed, {failed} failed (torch {torch.__version__}, {archive}: {len(names)} tensors)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

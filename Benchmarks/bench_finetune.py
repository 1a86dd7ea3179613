"""PyTorch side of Benchmarks/finetune.sh: the same work as effnet-finetune-bench.

  bench_finetune.py train HEAD OPTIMIZER   10,000 random 1280-wide features, 10 classes from a
                                           random linear teacher, batch 32, 10 epochs (shuffled
                                           with randperm, batches by indexing), best of 3 runs
  bench_finetune.py features MODEL BATCH   timm-free torchvision efficientnet_b0 random weights
                                           (MODEL b0 only): images/s of features + pooling and of
                                           the full forward pass
One JSON line on stdout. Threads: torch.set_num_threads(int(env BENCH_THREADS or 1)).
"""
import json
import os
import sys
import time

import torch
from torch import nn

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))


def train(kind, optimizer):
    n, f, classes, epochs, batch = 10_000, 1280, 10, 10, 32
    g = torch.Generator().manual_seed(1)
    teacher = torch.rand(f, classes, generator=g) * 2 - 1
    x = torch.rand(n, f, generator=g) * 2
    y = (x @ teacher).argmax(1)
    best, acc = float("inf"), 0.0
    for run in range(3):
        torch.manual_seed(run)
        if kind == "linear":
            head = nn.Linear(f, classes)
        else:
            w = int(kind.split(":")[1])
            head = nn.Sequential(nn.Linear(f, w), nn.ReLU(), nn.Dropout(0.2), nn.Linear(w, classes))
        opt = (torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9, foreach=False) if optimizer == "sgd"
               else torch.optim.AdamW(head.parameters(), lr=1e-3, foreach=False))
        loss_fn = nn.CrossEntropyLoss()
        head.train()
        start = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n)
            correct = 0
            for b in range(0, n, batch):
                idx = perm[b:b + batch]
                logits = head(x[idx])
                loss = loss_fn(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                correct += int((logits.argmax(1) == y[idx]).sum())
        best = min(best, time.perf_counter() - start)
        acc = correct / n
    print(json.dumps(dict(engine="torch", task="train", head=kind, optimizer=optimizer, seconds=best,
                          train_accuracy=acc, threads=torch.get_num_threads(), torch=torch.__version__)))


def features(model_name, batch):
    import torchvision
    assert model_name == "b0", "only b0 (torchvision) here"
    model = torchvision.models.efficientnet_b0(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224)

    def rate(fn):
        with torch.no_grad():
            fn()
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t)
        return batch / best

    pooled = rate(lambda: model.avgpool(model.features(x)))
    forward = rate(lambda: model(x))
    print(json.dumps(dict(engine="torch", task="features", model=model_name, batch=batch,
                          pooled_images_per_second=pooled, forward_images_per_second=forward,
                          threads=torch.get_num_threads())))


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    else:
        features(sys.argv[2], int(sys.argv[3]))

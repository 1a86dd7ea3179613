"""Reference optimisation runs for EffNetTraining (Tests/EffNetTrainingTests/TorchStepTests.swift).

PyTorch trains heads on fixed random "pooled features" for 50 steps and records where it ends:
the same features, the same initial head weights and the same batches (the index list of every
step is written to the fixture, so the Swift side need not reproduce numpy's shuffles) go to both
sides. Cases: linear and mlp heads (Linear-ReLU-Dropout(0)-Linear), SGD with momentum + nesterov
+ weight decay, SGD with momentum + dampening + weight decay, and AdamW, each with and without
label smoothing. torch.optim runs with foreach=False (the single-tensor code, what CPU uses).

Writes Fixtures/finetune/
  features.npy      (120, 48) float32   training features
  heldout.npy       (20, 48) float32    held-out batch for the logits
  init_linear_*.npy, init_mlp_*.npy    initial head weights (torch names: 0.weight, 3.bias ...)
  <case>_<param>.npy                    weights after 50 steps
  <case>_logits.npy (20, 5) float32    logits on the held-out batch after 50 steps (eval mode)
  steps.json        labels, the 50 batches' indices, the cases and their settings, versions

Run:  python Fixtures/generate_finetune.py   (a venv with torch and numpy)
"""
import json
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "finetune")
N, M, F, K, WIDTH, BATCH, STEPS = 120, 20, 48, 5, 24, 16, 50


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


def head(kind):
    if kind == "linear":
        return nn.Sequential(nn.Linear(F, K))
    return nn.Sequential(nn.Linear(F, WIDTH), nn.ReLU(), nn.Dropout(0.0), nn.Linear(WIDTH, K))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(19)
    # Features with a learnable structure (a random linear teacher plus noise), varied scales.
    teacher = rng.normal(size=(F, K))
    feats = (rng.normal(size=(N + M, F)) * rng.uniform(0.2, 3.0, size=F)).astype(np.float32)
    labels = np.argmax(feats @ teacher + rng.normal(scale=2.0, size=(N + M, K)), axis=1)
    x, xh = feats[:N], feats[N:]
    y = labels[:N]
    save("features", x)
    save("heldout", xh)

    # The batches: numpy permutations per epoch, batches of 16, the last of an epoch smaller.
    steps = []
    while len(steps) < STEPS:
        perm = rng.permutation(N)
        for b in range(0, N, BATCH):
            if len(steps) < STEPS:
                steps.append(perm[b:b + BATCH].tolist())

    inits = {}
    for kind in ("linear", "mlp"):
        torch.manual_seed(7)
        h = head(kind)
        inits[kind] = {k: v.detach().clone() for k, v in h.state_dict().items()}
        for k, v in inits[kind].items():
            save(f"init_{kind}_{k}", v.numpy())

    optimizers = {
        "sgd_nesterov": dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=1e-3),
        "sgd_dampening": dict(kind="sgd", lr=0.05, momentum=0.8, dampening=0.3, nesterov=False, weight_decay=5e-4),
        "adamw": dict(kind="adamw", lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    }
    cases = []
    for kind in ("linear", "mlp"):
        for oname, o in optimizers.items():
            for smoothing in (0.0, 0.1):
                name = f"{kind}_{oname}_ls{int(smoothing * 10)}"
                h = head(kind)
                h.load_state_dict(inits[kind])
                h.train()
                if o["kind"] == "sgd":
                    opt = torch.optim.SGD(h.parameters(), lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                                          nesterov=o["nesterov"], weight_decay=o["weight_decay"], foreach=False)
                else:
                    opt = torch.optim.AdamW(h.parameters(), lr=o["lr"], betas=o["betas"], eps=o["eps"],
                                            weight_decay=o["weight_decay"], foreach=False)
                loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
                losses = []
                for idx in steps:
                    xb = torch.from_numpy(x[idx])
                    yb = torch.from_numpy(y[idx]).long()
                    opt.zero_grad()
                    loss = loss_fn(h(xb), yb)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                h.eval()
                with torch.no_grad():
                    logits = h(torch.from_numpy(xh)).numpy()
                for k, v in h.state_dict().items():
                    save(f"{name}_{k}", v.numpy())
                save(f"{name}_logits", logits)
                cases.append(dict(name=name, head=kind, labelSmoothing=smoothing, optimizer=o,
                                  firstLoss=losses[0], lastLoss=losses[-1]))

    with open(os.path.join(OUT, "steps.json"), "w") as f:
        json.dump(dict(classes=K, width=WIDTH, labels=y.tolist(), steps=steps, cases=cases,
                       versions=dict(torch=torch.__version__, numpy=np.__version__)), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

"""The paper's head and training loop in PyTorch, the reference the TypeScript trainer is checked against.

Reads a JSON run spec on stdin: dim, hidden, recipe (epochs, batchSize, lr, momentum, weightDecay,
warmupEpochs, warmupLr, dropout), initial parameters (text [6*D], w1, b1, w2, b2, row-major), train and
test embeddings and targets, and optionally the batch order of every epoch (to feed the same batches).
Trains with torch.optim.SGD, MSE on raw MOS, PyTorch's cosine schedule and batch sampler; prints the final parameters' test predictions.

  python3 tools/train/torch_head.py < spec.json
"""
from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export"))
from clip_agiqa_export.head import ClipAgiqaHead  # noqa: E402


def build(spec: dict) -> ClipAgiqaHead:
    d, h = spec["dim"], spec["hidden"]
    p = spec["init"]
    head = ClipAgiqaHead(d, torch.tensor(p["text"], dtype=torch.float32).reshape(6, d), dropout=spec["recipe"]["dropout"], hidden=h)
    # The level-prompt embeddings are learned: make the buffer a parameter.
    text = head.text_features
    del head.text_features
    head.text_features = torch.nn.Parameter(text.clone())
    with torch.no_grad():
        head.fc1.weight.copy_(torch.tensor(p["w1"]).reshape(h, 7 * d))
        head.fc1.bias.copy_(torch.tensor(p["b1"]))
        head.fc2.weight.copy_(torch.tensor(p["w2"]).reshape(1, h))
        head.fc2.bias.copy_(torch.tensor(p["b2"]))
    return head


def fit(head: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, spec: dict) -> None:
    """The official training loop over rows x (what head's forward reads) and MOS y: SGD, MSE, the schedule below."""
    r = spec["recipe"]
    opt = torch.optim.SGD(head.parameters(), lr=r["lr"], momentum=r["momentum"], weight_decay=r["weightDecay"])
    # The official code's schedule (Dassl's ConstantWarmupScheduler around CosineAnnealingLR(T_max=epochs)):
    # warm-up epochs at warmupLr, then the cosine, stepped once per epoch after the warm-up.
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=float(r["epochs"]))
    g = torch.Generator().manual_seed(spec.get("torchSeed", 0))
    for epoch in range(r["epochs"]):
        warm = epoch < r["warmupEpochs"]
        if epoch > r["warmupEpochs"]:
            cosine.step()
        for group, lr in zip(opt.param_groups, cosine.get_last_lr()):
            group["lr"] = r["warmupLr"] if warm else lr
        order = spec["orders"][epoch] if spec.get("orders") else torch.randperm(len(y), generator=g).tolist()
        head.train()
        # The official loader's batches: a last partial training batch is dropped (Dassl's drop_last).
        for batch in torch.utils.data.BatchSampler(order, r["batchSize"], drop_last=len(order) >= r["batchSize"]):
            idx = torch.tensor(batch)
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(head(x[idx]), y[idx])
            loss.backward()
            opt.step()
    head.eval()


def train(spec: dict) -> dict:
    torch.manual_seed(spec.get("torchSeed", 0))
    d = spec["dim"]
    head = build(spec)
    x = torch.tensor(spec["train"]["embeds"], dtype=torch.float32).reshape(-1, d)
    y = torch.tensor(spec["train"]["targets"], dtype=torch.float32)
    fit(head, x, y, spec)
    with torch.no_grad():
        test = torch.tensor(spec["test"]["embeds"], dtype=torch.float32).reshape(-1, d)
        return {"predictions": head(test).tolist()}


if __name__ == "__main__":
    print(json.dumps(train(json.loads(sys.stdin.read()))))

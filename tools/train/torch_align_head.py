"""The text-image alignment head (clip-agiqa-align) and its training in PyTorch, the reference the
TypeScript trainer is checked against.

  x = [v || t || v * t] -> Linear(3D -> H) -> ReLU -> Dropout -> Linear(H -> 1)

with v the L2-normalised image embedding and t the L2-normalised prompt text embedding. Reads a JSON run
spec on stdin: dim, hidden, recipe (as tools/train/torch_head.py), initial parameters (w1 [H*3D], b1, w2,
b2, row-major), train rows [image || text] (2D values each) with targets, test rows, and optionally the
batch order of every epoch; trains with torch_head's loop and prints the test predictions.
`"interaction": false` leaves out v * t (its columns of fc1 then read zeros): a deliberately different
head, to show the cross-check tells them apart.

  python3 tools/train/torch_align_head.py < spec.json
"""
from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_head import fit  # noqa: E402


class AlignHead(torch.nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float, interaction: bool = True):
        super().__init__()
        self.dim = dim
        self.interaction = interaction
        self.fc1 = torch.nn.Linear(3 * dim, hidden)
        self.dropout = torch.nn.Dropout(dropout)
        self.fc2 = torch.nn.Linear(hidden, 1)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        v = F.normalize(pairs[:, : self.dim], dim=-1)
        t = F.normalize(pairs[:, self.dim :], dim=-1)
        product = v * t if self.interaction else torch.zeros_like(v)
        x = torch.cat([v, t, product], dim=1)
        return self.fc2(self.dropout(F.relu(self.fc1(x)))).squeeze(-1)


def train(spec: dict) -> dict:
    torch.manual_seed(spec.get("torchSeed", 0))
    d, h, p = spec["dim"], spec["hidden"], spec["init"]
    head = AlignHead(d, h, spec["recipe"]["dropout"], spec.get("interaction", True))
    with torch.no_grad():
        head.fc1.weight.copy_(torch.tensor(p["w1"]).reshape(h, 3 * d))
        head.fc1.bias.copy_(torch.tensor(p["b1"]))
        head.fc2.weight.copy_(torch.tensor(p["w2"]).reshape(1, h))
        head.fc2.bias.copy_(torch.tensor(p["b2"]))
    x = torch.tensor(spec["train"]["rows"], dtype=torch.float32).reshape(-1, 2 * d)
    y = torch.tensor(spec["train"]["targets"], dtype=torch.float32)
    fit(head, x, y, spec)
    with torch.no_grad():
        test = torch.tensor(spec["test"]["rows"], dtype=torch.float32).reshape(-1, 2 * d)
        return {"predictions": head(test).tolist()}


if __name__ == "__main__":
    print(json.dumps(train(json.loads(sys.stdin.read()))))

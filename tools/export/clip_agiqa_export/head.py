"""The CLIP-AGIQA head in PyTorch, the reference the TypeScript head is checked against.

Input: [L2-normalised image embedding || the 6 L2-normalised level-prompt text embeddings] (7*D values),
then Linear(7D -> 512) -> ReLU -> Linear(512 -> 1). Dropout 0.5 sits before each Linear in training only.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from safetensors.torch import save_file, load_file

from . import LEVEL_WORDS

HIDDEN = 512
TENSOR_NAMES = {
    "text_features": "text_features",
    "fc1_weight": "fc1.weight",
    "fc1_bias": "fc1.bias",
    "fc2_weight": "fc2.weight",
    "fc2_bias": "fc2.bias",
}


class ClipAgiqaHead(torch.nn.Module):
    def __init__(self, embed_dim: int, text_features: torch.Tensor, dropout: float = 0.5, hidden: int = HIDDEN):
        super().__init__()
        if tuple(text_features.shape) != (len(LEVEL_WORDS), embed_dim):
            raise ValueError(f"text_features must be [{len(LEVEL_WORDS)}, {embed_dim}], got {list(text_features.shape)}")
        self.register_buffer("text_features", text_features.detach().clone().float())
        self.dropout = torch.nn.Dropout(dropout)
        self.fc1 = torch.nn.Linear((len(LEVEL_WORDS) + 1) * embed_dim, hidden)
        self.fc2 = torch.nn.Linear(hidden, 1)

    def features(self, image_embeds: torch.Tensor) -> torch.Tensor:
        image = F.normalize(image_embeds.float(), dim=-1)
        text = F.normalize(self.text_features, dim=-1).reshape(1, -1).expand(image.shape[0], -1)
        return torch.cat([image, text], dim=1)

    def forward(self, image_embeds: torch.Tensor) -> torch.Tensor:
        x = self.fc1(self.dropout(self.features(image_embeds)))
        return self.fc2(self.dropout(F.relu(x))).squeeze(-1)

    def save(self, path: str) -> None:
        tensors = {name: t.detach().contiguous().float() for name, t in self.state_dict().items()}
        # One metadata key only: the writer orders several keys differently from run to run.
        save_file(tensors, path, metadata={"kind": "clip-agiqa-mlp"})

    @classmethod
    def load(cls, path: str) -> "ClipAgiqaHead":
        tensors = load_file(path)
        text = tensors["text_features"]
        head = cls(text.shape[1], text, hidden=tensors["fc1.bias"].shape[0])
        head.load_state_dict(tensors)
        return head.eval()

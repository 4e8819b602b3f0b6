"""Reference outputs for the TypeScript tests: PIL pixels and PyTorch embeddings and scores."""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from safetensors.numpy import save_file

from .head import ClipAgiqaHead
from .onnx_export import ImageTower
from .preprocess import normalise, preprocess_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff")


def golden_images(folder: str) -> list[str]:
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))


def write_goldens(tower: ImageTower, heads: dict[str, ClipAgiqaHead], size: int, images: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    pixels = {name: preprocess_file(os.path.join(images, name), size) for name in golden_images(images)}
    save_file(pixels, os.path.join(out, "pixels.safetensors"), metadata={"recipe": "PIL bicubic shortest-edge + centre crop"})
    reference = {}
    with torch.no_grad():
        for name, px in pixels.items():
            embeds = tower(torch.from_numpy(normalise(px)[None]))
            reference[name] = {
                "image_embeds": [float(v) for v in embeds[0]],
                "scores": {h: float(head(embeds)[0]) for h, head in heads.items()},
            }
    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"size": size, "images": reference}, f, indent=1)
        f.write("\n")

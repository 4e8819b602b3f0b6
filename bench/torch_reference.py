"""The PyTorch reference a user would otherwise run: transformers' CLIPModel on the same weights, PIL
preprocessing as in CLIP's recipe, torch.no_grad, the same head, the same threads and images.

  python3 bench/torch_reference.py MODEL_DIR HEAD_FILE THREADS BATCH TOWER_IMAGES IMAGE...
Prints one JSON object: end-to-end and tower-alone images/s.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "export"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import CLIPModel  # noqa: E402

from clip_agiqa_export.head import ClipAgiqaHead  # noqa: E402
from clip_agiqa_export.onnx_export import ImageTower  # noqa: E402
from clip_agiqa_export.preprocess import normalise, preprocess_file  # noqa: E402


def main(model_dir: str, head_file: str, threads: int, batch: int, tower_images: int, images: list[str]) -> None:
    torch.set_num_threads(threads)
    tower = ImageTower(CLIPModel.from_pretrained(model_dir).eval()).eval()
    head = ClipAgiqaHead.load(head_file)

    def score(paths: list[str]) -> torch.Tensor:
        pixels = torch.from_numpy(normalise(np.stack([preprocess_file(p, 224) for p in paths])))
        return head(tower(pixels))

    with torch.no_grad():
        score(images[:batch])  # warm-up
        started = time.perf_counter()
        for i in range(0, len(images), batch):
            score(images[i:i + batch])
        e2e = len(images) / (time.perf_counter() - started)
        x = torch.randn(batch, 3, 224, 224)
        runs = max(1, tower_images // batch)
        started = time.perf_counter()
        for _ in range(runs):
            tower(x)
        alone = runs * batch / (time.perf_counter() - started)
    print(json.dumps({"e2e_images_per_s": e2e, "tower_images_per_s": alone, "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])

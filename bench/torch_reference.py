"""The PyTorch reference a user would otherwise run: transformers' CLIPModel on the same weights, PIL
preprocessing as in CLIP's recipe, torch.no_grad, the same head, the same threads and images.

  python3 bench/torch_reference.py MODEL_DIR HEAD_FILE THREADS BATCH TOWER_IMAGES IMAGE...
Prints one JSON object: end-to-end and tower-alone images/s.
"""
from __future__ import annotations

import os
import sys
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "export"))

import torch  # noqa: E402
from transformers import CLIPModel  # noqa: E402

from clip_agiqa_export.head import ClipAgiqaHead  # noqa: E402
from clip_agiqa_export.onnx_export import ImageTower  # noqa: E402
from peer_timing import pixels, time_peer  # noqa: E402


def main(model_dir: str, head_file: str, threads: int, batch: int, tower_images: int, images: list[str]) -> None:
    torch.set_num_threads(threads)
    tower = ImageTower(CLIPModel.from_pretrained(model_dir).eval()).eval()
    head = ClipAgiqaHead.load(head_file)
    with torch.no_grad():
        time_peer(lambda paths: head(tower(torch.from_numpy(pixels(paths)))), lambda x: tower(torch.from_numpy(x)), batch, tower_images,
                  images, version=torch.__version__)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])

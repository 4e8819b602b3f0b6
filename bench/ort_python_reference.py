"""The ONNX Runtime Python peer: the bundle's own ONNX tower in onnxruntime's Python API, CLIP's PIL
preprocessing, the bundle's head in numpy, the same threads and images.

  python3 bench/ort_python_reference.py ONNX_FILE HEAD_FILE THREADS BATCH TOWER_IMAGES IMAGE...
Prints one JSON object: end-to-end and tower-alone images/s.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "export"))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

from peer_timing import pixels, time_peer  # noqa: E402


def numpy_head(path: str):
    """The clip-agiqa-mlp head at inference: [norm image ‖ norm level prompts] -> Linear -> ReLU -> Linear."""
    t = load_file(path)
    text = t["text_features"] / np.linalg.norm(t["text_features"], axis=1, keepdims=True)

    def score(embeds: np.ndarray) -> np.ndarray:
        image = embeds / np.linalg.norm(embeds, axis=1, keepdims=True)
        features = np.concatenate([image, np.broadcast_to(text.reshape(1, -1), (len(image), text.size))], axis=1)
        hidden = np.maximum(features @ t["fc1.weight"].T + t["fc1.bias"], 0)
        return (hidden @ t["fc2.weight"].T + t["fc2.bias"])[:, 0]
    return score


def main(onnx_file: str, head_file: str, threads: int, batch: int, tower_images: int, images: list[str]) -> None:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    head = numpy_head(head_file)
    tower = lambda x: session.run(None, {name: x})[0]  # noqa: E731
    time_peer(lambda paths: head(tower(pixels(paths))), tower, batch, tower_images, images, version=ort.__version__)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])

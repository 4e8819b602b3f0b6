"""Independent reference for prompts: transformers' CLIPTokenizer and get_text_features, numpy CLIPScore.

  python3 test/python/text_reference.py TORCH_DIR MODEL_DIR < request.json

TORCH_DIR is the PyTorch save of the exported weights (tools/export --save-torch), MODEL_DIR the
transformers.js folder (for its tokenizer). The request holds `prompts` and `pairs`, a list of
{"image": [...], "text": [...]} embeddings. Prints one JSON object: per prompt the token ids as
CLIPTokenizer cuts them at the model's context (truncation=True) and get_text_features; per pair
w * max(cos, 0) for Hessel's w = 2.5 and torchmetrics' w = 100, in float64.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import CLIPModel, CLIPTokenizer  # noqa: E402


def clipscore(image: list[float], text: list[float], w: float) -> float:
    a = np.asarray(image, dtype=np.float64)
    b = np.asarray(text, dtype=np.float64)
    cos = float(a @ b / (max(np.linalg.norm(a), 1e-12) * max(np.linalg.norm(b), 1e-12)))
    return w * max(cos, 0.0)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("torch_dir")
    p.add_argument("model_dir")
    args = p.parse_args()
    request = json.load(sys.stdin)
    torch.set_num_threads(1)
    model = CLIPModel.from_pretrained(args.torch_dir).eval()
    tokenizer = CLIPTokenizer.from_pretrained(args.model_dir)
    ctx = model.config.text_config.max_position_embeddings
    prompts = request["prompts"]
    ids = [tokenizer(t, truncation=True, max_length=ctx)["input_ids"] for t in prompts]
    full = [len(tokenizer(t)["input_ids"]) for t in prompts]
    enc = tokenizer(prompts, truncation=True, max_length=ctx, padding="max_length", return_tensors="pt")
    with torch.no_grad():
        features = model.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    if not isinstance(features, torch.Tensor):
        features = features.pooler_output
    pairs = request.get("pairs", [])
    print(json.dumps({
        "input_ids": ids,
        "tokens": full,
        "text_features": features.numpy().astype(np.float64).tolist(),
        "clipscore": {
            "hessel": [clipscore(q["image"], q["text"], 2.5) for q in pairs],
            "torchmetrics": [clipscore(q["image"], q["text"], 100.0) for q in pairs],
        },
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

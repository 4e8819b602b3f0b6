"""Independent reference for imported CLIPs: PyTorch towers, transformers' tokenizer, numpy zero-shot heads.

  python3 test/python/import_reference.py TORCH_DIR MODEL_DIR PIXELS [--variant ONNX_FILE]

TORCH_DIR is the PyTorch save of the exported weights (tools/export --save-torch), MODEL_DIR the
transformers.js folder (for its tokenizer), PIXELS a safetensors file of uint8 [S, S, 3] images. Prints
one JSON object: per image the PyTorch image embedding, the clip-iqa and levels scores, and, with
--variant, the embedding ONNX Runtime gives with that ONNX file.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from transformers import CLIPModel, CLIPTokenizer  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
GOOD_BAD = ["Good photo.", "Bad photo."]
LEVELS = [f"a photo of {w} quality." for w in ("terrible", "bad", "poor", "average", "good", "perfect")]


def pixel_values(pixels: np.ndarray) -> np.ndarray:
    x = (pixels.astype(np.float32) / np.float32(255.0) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("torch_dir")
    p.add_argument("model_dir")
    p.add_argument("pixels")
    p.add_argument("--variant")
    args = p.parse_args()
    torch.set_num_threads(1)
    model = CLIPModel.from_pretrained(args.torch_dir).eval()
    tokenizer = CLIPTokenizer.from_pretrained(args.model_dir)
    ctx = model.config.text_config.max_position_embeddings
    enc = tokenizer(GOOD_BAD + LEVELS, padding="max_length", max_length=ctx, return_tensors="pt")
    with torch.no_grad():
        text = model.text_projection(model.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).pooler_output).numpy()
    text = unit(text)
    session = None
    if args.variant:
        import onnxruntime as ort
        session = ort.InferenceSession(args.variant, providers=["CPUExecutionProvider"])
    out = {}
    for name, pixels in sorted(load_file(args.pixels).items()):
        x = pixel_values(pixels)
        with torch.no_grad():
            embeds = model.visual_projection(model.vision_model(pixel_values=torch.from_numpy(x)).pooler_output).numpy()[0]
        image = unit(embeds)
        good = softmax(100.0 * image @ text[:2].T)[0]
        levels = softmax(100.0 * image @ text[2:].T) @ np.linspace(0.0, 1.0, 6)
        row = {"image_embeds": embeds.tolist(), "clip_iqa": float(good), "levels": float(levels)}
        if session is not None:
            row["variant_embeds"] = session.run(["image_embeds"], {"pixel_values": x})[0][0].tolist()
        out[name] = row
    print(json.dumps({"images": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write a bundle's manifest.json: the versioned contract `schemas/model-bundle.schema.json` describes."""
from __future__ import annotations

import hashlib
import json
import os

from . import BUNDLE_FORMAT_VERSION, CLIP_MEAN, CLIP_STD, LEVEL_WORDS
from .head import TENSOR_NAMES


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def preprocess_section(size: int) -> dict:
    return {
        "size": size, "resize": "shortest-edge", "interpolation": "bicubic", "crop": "center", "crop_rounding": "half-even",
        "mean": list(CLIP_MEAN), "std": list(CLIP_STD), "background": [255, 255, 255],
    }


def head_entry(name: str, file: str, trained_on: dict | None, score_range: tuple[float, float], prompt: str) -> dict:
    entry = {
        "name": name, "kind": "clip-agiqa-mlp", "file": file, "tensors": dict(TENSOR_NAMES),
        "levels": list(LEVEL_WORDS), "prompt_template": prompt, "score_range": list(score_range),
        "higher_is_better": True, "trained": trained_on is not None,
    }
    if trained_on is not None:
        entry["training"] = trained_on
    return entry


def write_manifest(out: str, *, name: str, description: str, licence: str, backbone: dict, size: int,
                   text_encoder: dict | None, heads: list[dict], variants: dict | None = None) -> dict:
    """variants: precision -> {"file", "guard"} for reduced-precision image towers."""
    variants = variants or {}
    manifest = {
        "format": "clip-agiqa-bundle",
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "description": description,
        "license": licence,
        "backbone": backbone,
        "preprocess": preprocess_section(size),
        "image_encoder": {"input": "pixel_values", "output": "image_embeds",
                          "files": {"fp32": "image_encoder.onnx", **{p: v["file"] for p, v in variants.items()}}},
        "heads": heads,
    }
    if variants:
        manifest["image_encoder"]["accuracy"] = {p: v["guard"] for p, v in variants.items()}
    if text_encoder is not None:
        manifest["text_encoder"] = text_encoder
    files = list(manifest["image_encoder"]["files"].values()) + [h["file"] for h in heads]
    if text_encoder is not None:
        files += [text_encoder["file"], text_encoder["tokenizer"]["vocab"], text_encoder["tokenizer"]["merges"]]
    manifest["files"] = {f: {"sha256": sha256(os.path.join(out, f)), "bytes": os.path.getsize(os.path.join(out, f))}
                         for f in sorted(files)}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return manifest

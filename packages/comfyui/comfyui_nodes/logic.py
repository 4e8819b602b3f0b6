"""What the nodes do, without ComfyUI: tensors in ComfyUI's layouts in, selections out.

IMAGE is float [B, H, W, C] in 0-1, MASK is [B, H, W], LATENT is {"samples": [B, C, H, W], ...}.
Selections keep every aligned input aligned: the same indices, in the same order, for all of them.
"""
from __future__ import annotations

import numpy as np
import torch


def to_rgb_bytes(images: torch.Tensor) -> list[tuple[bytes, int, int]]:
    """IMAGE -> raw 8-bit RGB per batch item, quantised exactly as ComfyUI's SaveImage does."""
    if images.ndim != 4:
        raise ValueError(f"IMAGE must be [B, H, W, C], got shape {tuple(images.shape)}")
    out = []
    for image in images:
        array = np.clip(255.0 * image.detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
        if array.shape[2] == 1:
            array = np.repeat(array, 3, axis=2)
        elif array.shape[2] >= 4:
            array = array[:, :, :3]
        out.append((np.ascontiguousarray(array).tobytes(), array.shape[1], array.shape[0]))
    return out


def select_images(images: torch.Tensor, indices: list[int]) -> torch.Tensor:
    return images[list(indices)] if indices else images[:0]


def select_mask(mask: torch.Tensor | None, indices: list[int], batch: int) -> torch.Tensor | None:
    if mask is None:
        return None
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.shape[0] == 1 and batch > 1:
        mask = mask.expand(batch, -1, -1)
    if mask.shape[0] != batch:
        raise ValueError(f"the MASK batch ({mask.shape[0]}) does not match the IMAGE batch ({batch})")
    return mask[list(indices)] if indices else mask[:0]


def select_latent(latent: dict | None, indices: list[int], batch: int) -> dict | None:
    if latent is None:
        return None
    samples = latent["samples"]
    if samples.shape[0] != batch:
        raise ValueError(f"the LATENT batch ({samples.shape[0]}) does not match the IMAGE batch ({batch})")
    out = {k: v for k, v in latent.items() if k != "batch_index"}
    out["samples"] = samples[list(indices)] if indices else samples[:0]
    if "noise_mask" in latent and isinstance(latent["noise_mask"], torch.Tensor) and latent["noise_mask"].shape[0] == batch:
        out["noise_mask"] = latent["noise_mask"][list(indices)] if indices else latent["noise_mask"][:0]
    return out


def head_scores(result: dict, head: str) -> list[float]:
    """Per image, the head's score (NaN for images the bridge could not score)."""
    return [float(s["scores"][head]) if "scores" in s else float("nan") for s in result["scores"]]


def summary(result: dict, head: str) -> str:
    lines = []
    for s in result["scores"]:
        if "scores" in s:
            lines.append(f"#{s['index']}: " + ", ".join(f"{k} {v:.3f}" for k, v in s["scores"].items()))
        else:
            lines.append(f"#{s['index']}: error [{s['error']['code']}] {s['error']['message']}")
    decision = result["decision"]
    if "threshold" in decision:
        lines.append(f"threshold {decision['threshold']:.3f} on {head}: {len(decision['passed'])} pass, {len(decision['rejected'])} rejected")
    return "\n".join(lines)

"""What the nodes do, without ComfyUI: tensors in ComfyUI's layouts in, selections out.

IMAGE is float [B, H, W, C] in 0-1, MASK is [B, H, W], LATENT is {"samples": [B, C, H, W], ...}.
Selections keep every aligned input aligned: the same indices, in the same order, for all of them.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch


# The model sees a 224-pixel centre crop of the image resized to a 224 short side. Images are sent at
# most this large on the short side: 20 AGIQA-3K images upscaled 4x to 2048x2048 scored within 0.0015
# (0-5 scale) of their full-size score at 512 (0.0041 at 336), while a 4864x4864 frame shrinks from
# 71 MB to 0.8 MB on the wire.
MAX_SHORT_SIDE = 512


def _downscale(array: np.ndarray, max_short_side: int) -> np.ndarray:
    h, w = array.shape[:2]
    if min(h, w) <= max_short_side:
        return array
    from PIL import Image  # ships with ComfyUI
    r = max_short_side / min(h, w)
    size = (max(1, round(w * r)), max(1, round(h * r)))
    return np.asarray(Image.fromarray(array).resize(size, Image.BICUBIC))


def to_rgb_bytes(images: torch.Tensor, max_short_side: int | None = MAX_SHORT_SIDE) -> list[tuple[bytes, int, int]]:
    """IMAGE -> raw 8-bit RGB per batch item, quantised exactly as ComfyUI's SaveImage does, and downscaled
    (PIL bicubic, as the model's own resize) when the short side exceeds max_short_side."""
    if images.ndim != 4:
        raise ValueError(f"IMAGE must be [B, H, W, C], got shape {tuple(images.shape)}: connect an IMAGE output (a VAE Decode, a Load Image)")
    out = []
    for image in images:
        array = np.clip(255.0 * image.detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
        if array.shape[2] == 1:
            array = np.repeat(array, 3, axis=2)
        elif array.shape[2] >= 4:
            array = array[:, :, :3]
        if max_short_side:
            array = _downscale(np.ascontiguousarray(array), max_short_side)
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
        raise ValueError(f"the MASK batch ({mask.shape[0]}) does not match the IMAGE batch ({batch}): connect the masks of these images "
                         "(one per image, or one for all)")
    return mask[list(indices)] if indices else mask[:0]


def select_latent(latent: dict | None, indices: list[int], batch: int) -> dict | None:
    if latent is None:
        return None
    samples = latent["samples"]
    if samples.shape[0] != batch:
        raise ValueError(f"the LATENT batch ({samples.shape[0]}) does not match the IMAGE batch ({batch}): connect the latent these images "
                         "were decoded from")
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
    model = result.get("model")
    if model and model.get("untrained"):
        lines.append(f"WARNING: model {model['name']} is UNTRAINED: these scores mean nothing")
    if not result["scores"]:
        lines.append("empty batch: nothing to score")
    for s in result["scores"]:
        if "scores" in s:
            lines.append(f"#{s['index']}: " + ", ".join(f"{k} {v:.3f}" for k, v in s["scores"].items()))
        else:
            lines.append(f"#{s['index']}: error [{s['error']['code']}] {s['error']['message']}")
    decision = result["decision"]
    if "threshold" in decision:
        lines.append(f"threshold {decision['threshold']:.3f} on {head}: {len(decision['passed'])} pass, {len(decision['rejected'])} rejected")
    return "\n".join(lines)


def percentile(xs: list[float], p: float) -> float:
    """The value at percentile p (0-100), interpolating between order statistics (numpy's default, as the bridge does)."""
    ordered = sorted(xs)
    pos = min(100.0, max(0.0, p)) / 100.0 * (len(ordered) - 1)
    lo, hi = int(pos // 1), -int(-pos // 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _policy_schema() -> dict:
    with open(os.path.join(os.path.dirname(__file__), "bridge-server-message.schema.json")) as f:
        return json.load(f)["$defs"]["shared.policy"]


# Defaults of the shared policy, read from the schema the bridge validates with (k: how many best-of keeps).
DEFAULT_K = _policy_schema()["properties"]["k"]["default"]
# Deprecated spellings of modes (schemas/defs.schema.json): gate is filter, best-of-n is best-of.
CURRENT_MODE = {"gate": "filter", "best-of-n": "best-of"}


def _value(s: dict, head: str) -> float | None:
    v = s.get("scores", {}).get(head)
    return v if v is not None and math.isfinite(v) else None


def ranking_heads(policy: dict, model: dict) -> list[str]:
    """The heads that rank: the policy's combination's (weights in the order given, or lexicographic heads), else its head."""
    combine = policy.get("combine")
    if combine:
        return list(combine["weights"]) if combine["method"] == "weighted" else list(combine["heads"])
    return [policy.get("head", model["heads"][0]["name"])]


def _combined_order(scored: list[dict], combine: dict, heads: dict) -> list[int]:
    """Indices best first by a combination (schemas/defs.schema.json#/$defs/policy, combine); ties in input order."""
    if combine["method"] == "weighted":
        def total(s: dict) -> float:
            acc = 0.0
            for h, w in combine["weights"].items():  # summed in the order given, as the bridge does
                acc += (w if heads[h] else -w) * _value(s, h)
            return acc
        return [s["index"] for s in sorted(scored, key=lambda s: (-total(s), s["index"]))]
    tolerances = combine.get("tolerances", {})
    left = sorted(scored, key=lambda s: s["index"])
    order = []
    while left:
        pool = left
        for h in combine["heads"]:
            values = [_value(s, h) for s in pool]
            best = max(values) if heads[h] else min(values)
            tol = tolerances.get(h, 0)
            pool = [s for s, v in zip(pool, values) if ((best - v) if heads[h] else (v - best)) <= tol]
        order.append(pool[0]["index"])
        left = [s for s in left if s is not pool[0]]
    return order


def decide(policy: dict, scores: list[dict], model: dict) -> dict:
    """The bridge's decision over a batch scored in parts, for a policy the bridge accepted (each part is sent
    with it, so the bridge refuses a bad one with its own code and message). Checked case by case against
    the golden table the bridge, the webhook service and core are held to (test/fixtures/policy/table.json)."""
    heads = {h["name"]: h["higher_is_better"] for h in model["heads"]}
    mode = CURRENT_MODE.get(policy["mode"], policy["mode"])
    ranking = ranking_heads(policy, model)
    name = ranking[0]

    def reaches(v: float, bar: float, head: str) -> bool:
        return v >= bar if heads[head] else v <= bar

    # Ranked: scored on every head that ranks (a prompt head has no score for an image sent without a prompt).
    scored = [s for s in scores if all(_value(s, h) is not None for h in ranking)]
    if "combine" in policy:
        order = _combined_order(scored, policy["combine"], heads)
    else:
        order = [s["index"] for s in sorted(scored, key=lambda s: (-_value(s, name) if heads[name] else _value(s, name), s["index"]))]
    threshold = None
    if mode in ("filter", "reroll-if-none-pass"):
        bars = dict(policy.get("thresholds", {}))
        if "threshold" in policy:
            if policy.get("threshold_kind") == "percentile":
                threshold = percentile([_value(s, name) for s in scored], policy["threshold"]) if scored else None
            else:
                threshold = policy["threshold"]
        passing = [s for s in scored if (threshold is None or reaches(_value(s, name), threshold, name))
                   and all(_value(s, h) is not None and reaches(_value(s, h), bar, h) for h, bar in bars.items())]
        passed = [s["index"] for s in passing]  # request order
    elif mode == "best-of":
        passed = order[:policy.get("k", DEFAULT_K)]
    else:
        passed = [s["index"] for s in scored]
    kept = set(passed)
    decision = {"head": name, "order": order, "passed": passed, "rejected": [s["index"] for s in scores if s["index"] not in kept]}
    if threshold is not None:
        decision["threshold"] = threshold
    return decision

"""The CLIP-AGIQA nodes (classic ComfyUI node API: INPUT_TYPES, RETURN_TYPES, FUNCTION, CATEGORY).

Scoring happens in clip-agiqa bridge, which owns the model and its device: nothing here loads a model
into ComfyUI's memory. Node functions are coroutines; ComfyUI (0.3.40 and later) awaits them.
"""
from __future__ import annotations

import math

from . import logic
from .bridge_client import resolve_settings
from .multi_bridge import score_on_any

CATEGORY = "image/quality (CLIP-AGIQA)"


def _execution_blocker():
    """ComfyUI's ExecutionBlocker: outputs that carry it stop the nodes downstream (silently with None)."""
    from comfy_execution.graph_utils import ExecutionBlocker  # only inside ComfyUI
    return ExecutionBlocker(None)


def _bridge_inputs() -> dict:
    return {
        "head": ("STRING", {"default": "", "tooltip": "Head that decides; empty: the model's first (quality)."}),
        "bridge_url": ("STRING", {"default": "", "tooltip": "ws://host:port of clip-agiqa bridge, or several separated by commas (batches go to each in turn; an unreachable one is skipped); empty: $CLIP_AGIQA_BRIDGE_URL or ws://127.0.0.1:8790."}),
        "token": ("STRING", {"default": "", "tooltip": "The bridge's token; empty: $CLIP_AGIQA_BRIDGE_TOKEN."}),
        "timeout": ("FLOAT", {"default": 60.0, "min": 1.0, "max": 3600.0, "step": 1.0, "tooltip": "Seconds to wait for the bridge."}),
    }


class _BridgeNode:
    CATEGORY = CATEGORY

    @classmethod
    def IS_CHANGED(cls, bridge_url="", token="", **_):
        # Scores depend on the images (which ComfyUI already tracks) and on the bridge that scores them.
        return resolve_settings(bridge_url, token).url

    @staticmethod
    async def _score(images, policy: dict, head: str, bridge_url: str, token: str, timeout: float) -> dict:
        if head:
            policy = {**policy, "head": head}
        return await score_on_any(logic.to_rgb_bytes(images), policy, resolve_settings(bridge_url, token, timeout))


class CLIPAGIQAScore(_BridgeNode):
    DESCRIPTION = "Scores every image of the batch with CLIP-AGIQA (MOS scale of the head)."
    RETURN_TYPES = ("FLOAT", "STRING")
    RETURN_NAMES = ("scores", "summary")
    OUTPUT_IS_LIST = (True, False)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",)}, "optional": _bridge_inputs()}

    async def run(self, images, head="", bridge_url="", token="", timeout=60.0):
        result = await self._score(images, {"mode": "score"}, head, bridge_url, token, timeout)
        name = result["decision"]["head"]
        text = logic.summary(result, name)
        return {"ui": {"text": [text]}, "result": (logic.head_scores(result, name), text)}


class CLIPAGIQAQualityGate(_BridgeNode):
    DESCRIPTION = ("Lets through the images whose score reaches the threshold (absolute, on the head's MOS scale, or a "
                   "percentile of this batch); the rejected ones leave by their own output. Latent and mask inputs are "
                   "filtered alike.")
    RETURN_TYPES = ("IMAGE", "IMAGE", "FLOAT", "LATENT", "MASK")
    RETURN_NAMES = ("passed", "rejected", "scores", "passed_latent", "passed_mask")
    OUTPUT_IS_LIST = (False, False, True, False, False)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "threshold": ("FLOAT", {"default": 3.0, "min": -1e6, "max": 1e6, "step": 0.01}),
                "threshold_mode": (["absolute", "percentile"], {"default": "absolute"}),
                "when_none_pass": (["block", "empty", "error"], {"default": "block",
                                   "tooltip": "block: stop the nodes after 'passed'; empty: pass an empty batch; error: fail the run."}),
            },
            "optional": {"latent": ("LATENT",), "mask": ("MASK",), **_bridge_inputs()},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, threshold_mode="absolute", threshold=3.0):
        if threshold_mode == "percentile" and not 0 <= threshold <= 100:
            return f"a percentile threshold lies in 0-100, got {threshold}"
        return True

    async def run(self, images, threshold, threshold_mode, when_none_pass, latent=None, mask=None, head="", bridge_url="", token="", timeout=60.0):
        policy = {"mode": "gate", "threshold": float(threshold), "threshold_kind": threshold_mode}
        result = await self._score(images, policy, head, bridge_url, token, timeout)
        decision = result["decision"]
        passed, rejected = decision["passed"], decision["rejected"]
        batch = images.shape[0]
        scores = logic.head_scores(result, decision["head"])
        text = logic.summary(result, decision["head"])
        if not passed and when_none_pass == "error":
            raise RuntimeError(f"CLIP-AGIQA Quality Gate: none of {batch} images reached {decision.get('threshold', threshold):.3f} on {decision['head']} "
                               f"(best {max((s for s in scores if not math.isnan(s)), default=float('nan')):.3f})")
        # An empty IMAGE batch breaks most downstream nodes (SaveImage, PreviewImage index image 0), so a
        # branch with nothing in it is blocked; only when_none_pass="empty" hands an empty batch on.
        rejected_images = logic.select_images(images, rejected) if rejected else _execution_blocker()
        if not passed and when_none_pass == "block":
            blocked = _execution_blocker()
            out = (blocked, rejected_images, scores, blocked, blocked)
        else:
            out = (logic.select_images(images, passed), rejected_images, scores,
                   logic.select_latent(latent, passed, batch), logic.select_mask(mask, passed, batch))
        return {"ui": {"text": [text]}, "result": out}


class CLIPAGIQABestOfN(_BridgeNode):
    DESCRIPTION = "Keeps the k best images of the batch, best first, with their latents and masks in the same order."
    RETURN_TYPES = ("IMAGE", "FLOAT", "LATENT", "MASK")
    RETURN_NAMES = ("best", "scores", "best_latent", "best_mask")
    OUTPUT_IS_LIST = (False, True, False, False)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"images": ("IMAGE",), "k": ("INT", {"default": 1, "min": 1, "max": 4096})},
            "optional": {"latent": ("LATENT",), "mask": ("MASK",), **_bridge_inputs()},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, k=1):
        return True if k >= 1 else f"k must be at least 1, got {k}"

    async def run(self, images, k, latent=None, mask=None, head="", bridge_url="", token="", timeout=60.0):
        result = await self._score(images, {"mode": "best-of", "k": int(k)}, head, bridge_url, token, timeout)
        decision = result["decision"]
        top = decision["passed"]
        if not top:
            raise RuntimeError("CLIP-AGIQA Best of N: no image of the batch could be scored:\n" + logic.summary(result, decision["head"]))
        batch = images.shape[0]
        all_scores = logic.head_scores(result, decision["head"])
        text = logic.summary(result, decision["head"])
        return {"ui": {"text": [text]}, "result": (logic.select_images(images, top), [all_scores[i] for i in top],
                                                   logic.select_latent(latent, top, batch), logic.select_mask(mask, top, batch))}


NODE_CLASS_MAPPINGS = {
    "CLIPAGIQAScore": CLIPAGIQAScore,
    "CLIPAGIQAQualityGate": CLIPAGIQAQualityGate,
    "CLIPAGIQABestOfN": CLIPAGIQABestOfN,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "CLIPAGIQAScore": "CLIP-AGIQA Score",
    "CLIPAGIQAQualityGate": "CLIP-AGIQA Quality Gate",
    "CLIPAGIQABestOfN": "CLIP-AGIQA Best of N",
}

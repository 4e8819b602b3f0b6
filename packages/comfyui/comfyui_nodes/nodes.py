"""The CLIP-AGIQA nodes (classic ComfyUI node API: INPUT_TYPES, RETURN_TYPES, FUNCTION, CATEGORY).

Scoring happens in clip-agiqa bridge, which owns the model and its device: nothing here loads a model
into ComfyUI's memory. Node functions are coroutines, which ComfyUI awaits (see MIN_COMFYUI in __init__).
"""
from __future__ import annotations

import json
import math
import urllib.request

from . import config, local_bridge, logic
from .bridge_client import resolve_settings
from .multi_bridge import bridge_urls, score_on_any

CATEGORY = "image/quality (CLIP-AGIQA)"


def _execution_blocker(message: str | None = None):
    """ComfyUI's ExecutionBlocker: outputs that carry it stop the nodes downstream (silently with None,
    with an error naming the cause with a message)."""
    try:
        from comfy_execution.graph_utils import ExecutionBlocker  # only inside ComfyUI
    except ImportError:  # called outside ComfyUI (scripts, tests): there is nothing downstream to stop
        return None
    return ExecutionBlocker(message)


def _unconnected(node: str, output: str, source: str):
    return _execution_blocker(f"{node}: the {output} output is used downstream, but nothing is connected to its {source} input")


def _bridge_inputs() -> dict:
    return {
        "head": ("STRING", {"default": "", "tooltip": "Head that decides; empty: the model's first (quality); clipscore: agreement with the prompt input."}),
        "bridge_url": ("STRING", {"default": "", "tooltip": "ws://host:port of clip-agiqa bridge, or several separated by commas (batches go to each in turn; an unreachable one is skipped); empty: $CLIP_AGIQA_BRIDGE_URL, the config file, "
                                                             "or ws://127.0.0.1:8790. The token comes from $CLIP_AGIQA_BRIDGE_TOKEN or the config file."}),
        "timeout": ("FLOAT", {"default": 60.0, "min": 1.0, "max": 3600.0, "step": 1.0,
                              "tooltip": "Seconds the whole call may take: connecting, sending and scoring the batch."}),
        # Last, so that workflows saved before it load with their widget values in place (and an empty prompt).
        # dynamicPrompts off: the text is the prompt as generated, not a template for the frontend to expand.
        "prompt": ("STRING", {"default": "", "multiline": True, "dynamicPrompts": False,
                              "tooltip": "The prompt the images were generated from (connect the positive prompt's text). With a model that has a "
                                         "text tower, the prompt heads (clipscore) score each image against it; set head to clipscore to decide by "
                                         "it. Empty: image quality only."}),
    }


PROMPT_SHOWN = 200


def _report(result: dict, head: str, prompt: str) -> str:
    """The node's text: the prompt the images were scored against (cut to PROMPT_SHOWN characters), then every image's scores."""
    text = logic.summary(result, head)
    prompt = " ".join(prompt.split())
    if not prompt:
        return text
    shown = prompt if len(prompt) <= PROMPT_SHOWN else prompt[:PROMPT_SHOWN - 1] + "…"
    return f"prompt: {shown}\n{text}"


def _model_digest(url: str) -> str:
    """The digest of the model the bridge serves (GET /healthz on its port), or a marker when it cannot be read."""
    http = "http" + url[2:] if url.startswith("ws") else url
    try:
        with urllib.request.urlopen(http.rstrip("/") + "/healthz", timeout=2) as r:  # noqa: S310 - ws(s) URL checked above
            return str(json.load(r).get("model_digest", "unknown"))
    except Exception:  # an unreachable bridge: the run itself reports why
        return "unreachable"


class _BridgeNode:
    CATEGORY = CATEGORY

    @classmethod
    def IS_CHANGED(cls, bridge_url="", **_):
        # Scores depend on the images (which ComfyUI already tracks) and on the model that scores them:
        # a bridge restarted with another model must not serve cached scores.
        return " ".join(f"{url}#{_model_digest(url)}" for url in bridge_urls(resolve_settings(bridge_url).url))

    @classmethod
    def _check_url(cls, bridge_url: str) -> str | bool:
        try:
            if bridge_url:
                config.check_urls(bridge_url)
        except ValueError as e:
            return str(e)
        return True

    @staticmethod
    async def _score(images, policy: dict, head: str, bridge_url: str, timeout: float, prompt: str = "") -> dict:
        if head:
            policy = {**policy, "head": head}
        if config.configured_bridge_url(bridge_url) is None:
            await local_bridge.ensure(config.DEFAULT_URL)
        return await score_on_any(logic.to_rgb_bytes(images), policy, resolve_settings(bridge_url, timeout), prompt=prompt)


class CLIPAGIQAScore(_BridgeNode):
    DESCRIPTION = ("Scores every image of the batch with CLIP-AGIQA (MOS scale of the head) and shows the scores on the node. "
                   "An output node: it runs alone or beside a SaveImage.")
    RETURN_TYPES = ("FLOAT", "STRING")
    RETURN_NAMES = ("scores", "summary")
    OUTPUT_IS_LIST = (True, False)
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",)}, "optional": _bridge_inputs()}

    @classmethod
    def VALIDATE_INPUTS(cls, bridge_url=""):
        return cls._check_url(bridge_url)

    async def run(self, images, head="", bridge_url="", timeout=60.0, prompt=""):
        if images.shape[0] == 0:
            text = logic.summary({"scores": [], "decision": {}}, head)
            return {"ui": {"text": [text]}, "result": ([], text)}
        result = await self._score(images, {"mode": "score"}, head, bridge_url, timeout, prompt)
        name = result["decision"]["head"]
        text = _report(result, name, prompt)
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
    def VALIDATE_INPUTS(cls, threshold_mode="absolute", threshold=3.0, bridge_url=""):
        if threshold_mode == "percentile" and not 0 <= threshold <= 100:
            return f"a percentile threshold lies in 0-100, got {threshold}"
        return cls._check_url(bridge_url)

    async def run(self, images, threshold, threshold_mode, when_none_pass, latent=None, mask=None, head="", bridge_url="", timeout=60.0, prompt=""):
        policy = {"mode": "filter", "threshold": float(threshold), "threshold_kind": threshold_mode}
        if images.shape[0] == 0:  # nothing to score: nothing passes, and when_none_pass decides as for any batch
            result = {"scores": [], "decision": {"head": head or "quality", "passed": [], "rejected": []}}
        else:
            result = await self._score(images, policy, head, bridge_url, timeout, prompt)
        decision = result["decision"]
        passed, rejected = decision["passed"], decision["rejected"]
        batch = images.shape[0]
        scores = logic.head_scores(result, decision["head"])
        text = _report(result, decision["head"], prompt)
        if not passed and when_none_pass == "error":
            raise RuntimeError(f"CLIP-AGIQA Quality Gate: none of {batch} images reached {decision.get('threshold', threshold):.3f} on {decision['head']} "
                               f"(best {max((s for s in scores if not math.isnan(s)), default=float('nan')):.3f}): lower the threshold, use a percentile, "
                               "or set when_none_pass to block or empty to go on without them")
        # An empty IMAGE batch breaks most downstream nodes (SaveImage, PreviewImage index image 0), so a
        # branch with nothing in it is blocked; only when_none_pass="empty" hands an empty batch on.
        rejected_images = logic.select_images(images, rejected) if rejected else _execution_blocker()
        if not passed and when_none_pass == "block":
            blocked = _execution_blocker()
            out = (blocked, rejected_images, scores, blocked, blocked)
        else:
            name = "CLIP-AGIQA Quality Gate"
            out = (logic.select_images(images, passed), rejected_images, scores,
                   logic.select_latent(latent, passed, batch) if latent is not None else _unconnected(name, "passed_latent", "latent"),
                   logic.select_mask(mask, passed, batch) if mask is not None else _unconnected(name, "passed_mask", "mask"))
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
    def VALIDATE_INPUTS(cls, k=1, bridge_url=""):
        return cls._check_url(bridge_url) if k >= 1 else f"k must be at least 1, got {k}"

    async def run(self, images, k, latent=None, mask=None, head="", bridge_url="", timeout=60.0, prompt=""):
        name = "CLIP-AGIQA Best of N"
        batch = images.shape[0]
        if batch == 0:  # an empty batch (a Quality Gate that let nothing through) stays empty
            return {"ui": {"text": ["empty batch: nothing to score"]}, "result": (
                images, [], logic.select_latent(latent, [], 0) if latent is not None else _unconnected(name, "best_latent", "latent"),
                logic.select_mask(mask, [], 0) if mask is not None else _unconnected(name, "best_mask", "mask"))}
        result = await self._score(images, {"mode": "best-of", "k": int(k)}, head, bridge_url, timeout, prompt)
        decision = result["decision"]
        top = decision["passed"]
        text = _report(result, decision["head"], prompt)
        if not top:
            raise RuntimeError("CLIP-AGIQA Best of N: no image of the batch could be scored (each image's reason below; the bridge's log has "
                               "more):\n" + text)
        all_scores = logic.head_scores(result, decision["head"])
        return {"ui": {"text": [text]}, "result": (
            logic.select_images(images, top), [all_scores[i] for i in top],
            logic.select_latent(latent, top, batch) if latent is not None else _unconnected(name, "best_latent", "latent"),
            logic.select_mask(mask, top, batch) if mask is not None else _unconnected(name, "best_mask", "mask"))}


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

"""Client of clip-agiqa bridge (protocol 1) on aiohttp, which ComfyUI already ships.

One connection per call: nodes keep no state, and a restarted bridge is simply reached again.
Connecting retries with exponential backoff up to a cap, every wait has a timeout, and a bridge that
is down becomes a BridgeUnavailable error naming the address, never a hang or a tight retry loop.
A batch larger than the bridge's per-request limit (sent in its welcome) is scored in parts whose
results are merged in order.
"""
from __future__ import annotations

import asyncio
import json
import struct
import uuid
from dataclasses import dataclass

import aiohttp

from . import config, logic, protocol

PROTOCOL = 1
# The longest prompt a score request carries (schemas/bridge-client-message.schema.json).
MAX_PROMPT_CHARS = 10_000
DEFAULT_URL = config.DEFAULT_URL


class BridgeError(RuntimeError):
    """The bridge answered with a typed error."""

    def __init__(self, code: str, message: str):
        super().__init__(f"[{code}] {message}")
        self.code = code


class BridgeUnavailable(RuntimeError):
    """The bridge could not be reached, or stopped answering."""


@dataclass(frozen=True)
class BridgeSettings:
    url: str
    token: str
    timeout: float = 60.0
    connect_attempts: int = 4
    backoff: float = 0.25
    backoff_cap: float = 2.0
    busy_retries: int = 20


def resolve_settings(url: str = "", timeout: float = 60.0) -> BridgeSettings:
    """The node's bridge_url input, else CLIP_AGIQA_BRIDGE_URL, else the config file, else the local default;
    the token from CLIP_AGIQA_BRIDGE_TOKEN or the config file only."""
    return BridgeSettings(url=config.bridge_url(url), token=config.bridge_token(), timeout=float(timeout))


def image_frame(request_id: str, index: int, payload: bytes) -> bytes:
    rid = request_id.encode("utf-8")
    return struct.pack(">I", len(rid)) + rid + struct.pack(">I", index) + payload


def _broken(url: str, why: str) -> BridgeUnavailable:
    return BridgeUnavailable(f"the CLIP-AGIQA bridge at {url} sent a reply that breaks the bridge protocol ({why}): check that {url} is "
                             "`clip-agiqa bridge` of the same release as this node pack, and not another service on that port")


def _check(message, url: str) -> dict:
    problems = protocol.errors(message)
    if problems:
        raise _broken(url, "; ".join(problems[:3]))
    return message


async def _connect(session: aiohttp.ClientSession, s: BridgeSettings) -> aiohttp.ClientWebSocketResponse:
    delay = s.backoff
    last: Exception | None = None
    for attempt in range(s.connect_attempts):
        try:
            return await session.ws_connect(s.url, timeout=aiohttp.ClientWSTimeout(ws_close=5), heartbeat=15, max_msg_size=0)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            last = e
            if attempt + 1 < s.connect_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.backoff_cap)
    raise BridgeUnavailable(f"cannot reach the CLIP-AGIQA bridge at {s.url} after {s.connect_attempts} attempts ({last}); "
                            "start it with `clip-agiqa bridge` or set CLIP_AGIQA_BRIDGE_URL")


async def _receive(ws: aiohttp.ClientWebSocketResponse, s: BridgeSettings) -> dict:
    msg = await ws.receive(timeout=s.timeout)
    if msg.type == aiohttp.WSMsgType.TEXT:
        try:
            message = json.loads(msg.data)
        except ValueError:
            raise _broken(s.url, f"a text frame that is not JSON: {msg.data[:80]!r}") from None
        return _check(message, s.url)
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
        raise BridgeUnavailable(f"the CLIP-AGIQA bridge at {s.url} closed the connection (code {ws.close_code}): it stopped or restarted; "
                                "its log says why, and the next run connects again")
    raise _broken(s.url, f"a {msg.type.name.lower()} frame where a text message was due")


async def score_images(images: list[tuple[bytes, int, int]], policy: dict, settings: BridgeSettings, client: str = "comfyui-clip-agiqa",
                       prompt: str = "") -> dict:
    """Scores raw RGB images ((bytes, width, height) each) under a policy, against the prompt they were generated
    from when one is given (the model's prompt heads, clipscore, score it); returns the bridge's result message
    with the welcome's `model` added. The timeout covers the whole call: connecting, sending and scoring."""
    try:
        return await asyncio.wait_for(_score(images, policy, settings, client, prompt), timeout=settings.timeout)
    except asyncio.TimeoutError:
        raise BridgeUnavailable(f"the CLIP-AGIQA bridge at {settings.url} did not answer within {settings.timeout:g} s "
                                f"({len(images)} images; raise the node's timeout for large batches on a slow device)") from None
    except (aiohttp.ClientError, ConnectionError) as e:
        raise BridgeUnavailable(f"lost the connection to the CLIP-AGIQA bridge at {settings.url} ({e}): did it stop or crash? "
                                "Its log says why; the next run connects again") from None


# What to do about the refusals a node can cause.
ADVICE = {
    "UNKNOWN_HEAD": " (check the node's head input against the heads the bridge's model has: `clip-agiqa info --model BUNDLE`)",
    # What bridges before the shared policy check called every refused policy.
    "BAD_POLICY": " (check the node's head input against the heads the bridge's model has: `clip-agiqa info --model BUNDLE`)",
    "TOO_MANY_IMAGES": " (the node splits batches by the limit the bridge announces: is the bridge of another release?)",
    "IMAGE_TOO_LARGE": " (scale the images down before the node)",
}


# Bridges older than the shared policy know filter only by its former name; they refuse the new one as a schema violation.
FORMER_MODE_NAMES = {"filter": "gate"}


def _in_former_words(policy: dict, error: dict) -> dict | None:
    """The policy in the words of an older bridge that refused its mode, or None when that was not the refusal."""
    former = FORMER_MODE_NAMES.get(policy.get("mode"))
    if former and error["code"] == "SCHEMA_VIOLATION" and "/policy/mode" in error["message"]:
        return {**policy, "mode": former}
    return None


def _refusal_advice(code: str, prompt: str) -> str:
    if code == "SCHEMA_VIOLATION" and prompt:
        return (" (a bridge older than prompt scoring refuses requests with a prompt: run `clip-agiqa bridge` of this node pack's release, "
                "or leave the node's prompt input empty)")
    return ADVICE.get(code, "")


async def _request(ws: aiohttp.ClientWebSocketResponse, s: BridgeSettings, images: list[tuple[bytes, int, int]], policy: dict, prompt: str = "") -> dict:
    # A blank prompt is no prompt (the bridge reads it so too): it is not sent, so any bridge takes the request.
    # CLIP reads 77 tokens, so cutting a longer prompt to the protocol's limit changes no score.
    with_prompt = {"prompt": prompt[:MAX_PROMPT_CHARS]} if prompt.strip() else {}
    for _ in range(s.busy_retries):
        request_id = uuid.uuid4().hex
        await ws.send_str(json.dumps({"type": "score", "id": request_id, "policy": policy, **with_prompt,
                                      "images": [{"format": "rgb", "width": w, "height": h} for _, w, h in images]}))
        for index, (data, _, _) in enumerate(images):
            await ws.send_bytes(image_frame(request_id, index, data))
        reply = await _receive(ws, s)
        if reply["type"] == "busy":
            await asyncio.sleep(reply["retry_after_ms"] / 1000)
            continue
        if reply["type"] == "error":
            former = _in_former_words(policy, reply)
            if former is None:
                raise BridgeError(reply["code"], f"the CLIP-AGIQA bridge at {s.url} refused the request: {reply['message']}"
                                  f"{_refusal_advice(reply['code'], with_prompt.get('prompt', ''))}")
            policy = former
            continue
        if reply["type"] != "result" or reply["id"] != request_id:
            raise _broken(s.url, f"a {reply['type']} message for request {reply.get('id')!r} where the result of {request_id!r} was due")
        uncovered = protocol.coverage_errors(reply, len(images))
        if uncovered:
            raise _broken(s.url, uncovered[0])
        return reply
    raise BridgeUnavailable(f"the CLIP-AGIQA bridge at {s.url} stayed busy scoring for other clients through {s.busy_retries} retries: "
                            "raise the node's timeout, or list a second bridge in bridge_url")


async def _score(images: list[tuple[bytes, int, int]], policy: dict, s: BridgeSettings, client: str, prompt: str) -> dict:
    async with aiohttp.ClientSession() as session:
        ws = await _connect(session, s)
        try:
            hello = {"type": "hello", "protocol": PROTOCOL, "client": client}
            if s.token:
                hello["token"] = s.token
            await ws.send_str(json.dumps(hello))
            welcome = await _receive(ws, s)
            if welcome["type"] == "error" and welcome["code"] == "UNAUTHORIZED":
                raise BridgeError("UNAUTHORIZED", f"the CLIP-AGIQA bridge at {s.url} refused the token ({welcome['message']}): set "
                                  f"CLIP_AGIQA_BRIDGE_TOKEN in ComfyUI's environment, or \"token\" in {config.config_path()}, to the "
                                  "bridge's --token (or its CLIP_AGIQA_BRIDGE_TOKEN), then restart ComfyUI")
            if welcome["type"] == "error":
                raise BridgeError(welcome["code"], welcome["message"])
            if welcome["type"] != "welcome":
                raise _broken(s.url, f"a {welcome['type']} message where the welcome was due")
            limits = welcome["limits"]
            for index, (data, w, h) in enumerate(images):
                if len(data) > limits["max_image_bytes"]:
                    raise BridgeError("IMAGE_TOO_LARGE", f"image {index} ({w}x{h}) has {len(data)} bytes; the bridge at {s.url} takes at most "
                                      f"{limits['max_image_bytes']} (nothing was sent)")
            per_request = max(1, int(limits["max_images"]))
            if len(images) <= per_request:
                result = await _request(ws, s, images, policy, prompt)
            else:
                # Parts are scored alone, each sent with the policy so that the bridge accepts or refuses it as it would the
                # whole batch; the batch-wide decision (percentile, best-of) is then made over them all here.
                scores = []
                for start in range(0, len(images), per_request):
                    part = await _request(ws, s, images[start:start + per_request], policy, prompt)
                    scores.extend({**item, "index": item["index"] + start} for item in part["scores"])
                result = {"type": "result", "id": "", "scores": scores, "decision": logic.decide(policy, scores, welcome["model"])}
            return {**result, "model": welcome["model"]}
        finally:
            await ws.close()

"""Client of clip-agiqa bridge (protocol 1) on aiohttp, which ComfyUI already ships.

One connection per call: nodes keep no state, and a restarted bridge is simply reached again.
Connecting retries with exponential backoff up to a cap, every wait has a timeout, and a bridge that
is down becomes a BridgeUnavailable error naming the address, never a hang or a tight retry loop.
"""
from __future__ import annotations

import asyncio
import json
import os
import struct
import uuid
from dataclasses import dataclass

import aiohttp

PROTOCOL = 1
DEFAULT_URL = "ws://127.0.0.1:8790"


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


def resolve_settings(url: str = "", token: str = "", timeout: float = 60.0) -> BridgeSettings:
    """Node inputs first, then CLIP_AGIQA_BRIDGE_URL / CLIP_AGIQA_BRIDGE_TOKEN, then the local default."""
    return BridgeSettings(
        url=(url or os.environ.get("CLIP_AGIQA_BRIDGE_URL") or DEFAULT_URL).strip(),
        token=token or os.environ.get("CLIP_AGIQA_BRIDGE_TOKEN", ""),
        timeout=float(timeout),
    )


def image_frame(request_id: str, index: int, payload: bytes) -> bytes:
    rid = request_id.encode("utf-8")
    return struct.pack(">I", len(rid)) + rid + struct.pack(">I", index) + payload


def _check(message: dict) -> dict:
    kind = message.get("type") if isinstance(message, dict) else None
    required = {"welcome": ("protocol", "model", "limits"), "result": ("id", "scores", "decision"), "busy": ("id", "retry_after_ms"),
                "error": ("code", "message")}.get(kind)
    if required is None or any(k not in message for k in required):
        raise BridgeUnavailable(f"the bridge sent a message this client does not understand: {str(message)[:200]}")
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
        return _check(json.loads(msg.data))
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
        raise BridgeUnavailable(f"the bridge at {s.url} closed the connection ({ws.close_code})")
    raise BridgeUnavailable(f"unexpected frame from the bridge: {msg.type}")


async def score_images(images: list[tuple[bytes, int, int]], policy: dict, settings: BridgeSettings, client: str = "comfyui-clip-agiqa") -> dict:
    """Scores raw RGB images ((bytes, width, height) each) under a policy; returns the bridge's result message."""
    try:
        return await asyncio.wait_for(_score(images, policy, settings, client), timeout=settings.timeout)
    except asyncio.TimeoutError:
        raise BridgeUnavailable(f"the CLIP-AGIQA bridge at {settings.url} did not answer within {settings.timeout:g} s") from None


async def _score(images: list[tuple[bytes, int, int]], policy: dict, s: BridgeSettings, client: str) -> dict:
    async with aiohttp.ClientSession() as session:
        ws = await _connect(session, s)
        try:
            hello = {"type": "hello", "protocol": PROTOCOL, "client": client}
            if s.token:
                hello["token"] = s.token
            await ws.send_str(json.dumps(hello))
            welcome = await _receive(ws, s)
            if welcome["type"] == "error":
                raise BridgeError(welcome["code"], welcome["message"])
            for _ in range(s.busy_retries):
                request_id = uuid.uuid4().hex
                await ws.send_str(json.dumps({"type": "score", "id": request_id, "policy": policy,
                                              "images": [{"format": "rgb", "width": w, "height": h} for _, w, h in images]}))
                for index, (data, _, _) in enumerate(images):
                    await ws.send_bytes(image_frame(request_id, index, data))
                reply = await _receive(ws, s)
                if reply["type"] == "busy":
                    await asyncio.sleep(reply["retry_after_ms"] / 1000)
                    continue
                if reply["type"] == "error":
                    raise BridgeError(reply["code"], reply["message"])
                return reply
            raise BridgeUnavailable(f"the CLIP-AGIQA bridge at {s.url} stayed busy")
        finally:
            await ws.close()

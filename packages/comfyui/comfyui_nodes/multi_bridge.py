"""Several clip-agiqa bridges behind one node input: `ws://a:8790, ws://b:8790`.

Each node run (one batch) goes to the next bridge in turn, so batches spread over the bridges; a bridge
that cannot be reached, drops the connection, times out or answers outside the protocol is skipped for the
next one and the batch is scored there (scoring has no side effects, so sending it again is safe). Only when
every bridge fails does the node fail, naming each bridge and why. A typed error from a bridge (a bad token,
an invalid policy) is the request's fault and is not retried elsewhere.

A bridge that failed is rested for COOLDOWN_S (a circuit breaker): batches go to the others first, so a
hung bridge costs one timeout, not one on every other batch. It is tried again once the rest is over, or
at once when every other bridge fails too.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import time

from .bridge_client import DEFAULT_URL, BridgeSettings, BridgeUnavailable, score_images

COOLDOWN_S = 30.0

_turn = itertools.count()
_resting_until: dict[str, float] = {}


def bridge_urls(url: str) -> list[str]:
    """The bridges named by a setting: separated by commas or whitespace."""
    return [u for u in re.split(r"[,\s]+", url.strip()) if u] or [DEFAULT_URL]


def _in_order(urls: list[str]) -> list[str]:
    """The bridges from the next one in turn, those resting after the others."""
    now = time.monotonic()
    resting = [u for u in urls if _resting_until.get(u, 0.0) > now]
    ready = [u for u in urls if u not in resting] or resting
    start = next(_turn) % len(ready)
    return ready[start:] + ready[:start] + [u for u in resting if u not in ready]


async def score_on_any(images: list[tuple[bytes, int, int]], policy: dict, settings: BridgeSettings, client: str = "comfyui-clip-agiqa",
                       prompt: str = "") -> dict:
    urls = bridge_urls(settings.url)
    failures = []
    for url in _in_order(urls):
        try:
            result = await score_images(images, policy, dataclasses.replace(settings, url=url), client, prompt)
        except BridgeUnavailable as e:
            if len(urls) > 1:
                _resting_until[url] = time.monotonic() + COOLDOWN_S
            failures.append(str(e))
            continue
        _resting_until.pop(url, None)
        return result
    if len(urls) == 1:
        raise BridgeUnavailable(failures[0])
    raise BridgeUnavailable(f"none of the {len(urls)} CLIP-AGIQA bridges could score the batch: " + " | ".join(failures))

"""Several clip-agiqa bridges behind one node input: `ws://a:8790, ws://b:8790`.

Each node run (one batch) goes to the next bridge in turn, so batches spread over the bridges; a bridge
that cannot be reached, or drops the connection, is skipped for the next one and the batch is scored
there (scoring has no side effects, so sending it again is safe). Only when every bridge fails does the
node fail, naming each bridge and why. A typed error from a bridge (a bad token, an invalid policy) is
the request's fault and is not retried elsewhere.
"""
from __future__ import annotations

import dataclasses
import itertools
import re

from .bridge_client import DEFAULT_URL, BridgeSettings, BridgeUnavailable, score_images

_turn = itertools.count()


def bridge_urls(url: str) -> list[str]:
    """The bridges named by a setting: separated by commas or whitespace."""
    return [u for u in re.split(r"[,\s]+", url.strip()) if u] or [DEFAULT_URL]


async def score_on_any(images: list[tuple[bytes, int, int]], policy: dict, settings: BridgeSettings, client: str = "comfyui-clip-agiqa") -> dict:
    urls = bridge_urls(settings.url)
    start = next(_turn) % len(urls)
    failures = []
    for k in range(len(urls)):
        url = urls[(start + k) % len(urls)]
        try:
            return await score_images(images, policy, dataclasses.replace(settings, url=url), client)
        except BridgeUnavailable as e:
            failures.append(str(e))
    if len(urls) == 1:
        raise BridgeUnavailable(failures[0])
    raise BridgeUnavailable(f"none of the {len(urls)} CLIP-AGIQA bridges could score the batch: " + " | ".join(failures))

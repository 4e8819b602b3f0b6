"""Where the nodes find the bridge and its token: environment, then a config file, then the local default.

The token is never a node input: inputs are saved into every PNG's workflow metadata and into
ComfyUI's /history, so a secret there would leak with every image.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "ws://127.0.0.1:8790"


def config_path() -> Path:
    """$CLIP_AGIQA_CONFIG, else $XDG_CONFIG_HOME/clip-agiqa/comfyui.json (~/.config/... by default)."""
    explicit = os.environ.get("CLIP_AGIQA_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "clip-agiqa" / "comfyui.json"


def read_config() -> dict:
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"CLIP-AGIQA config {path} is not JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"CLIP-AGIQA config {path} must be a JSON object like {{\"bridge_url\": ..., \"token\": ...}}")
    return config


def check_url(url: str) -> str:
    """A bridge address is ws:// or wss:// with a host; anything else is refused before any connection."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        hint = f" (did you mean ws://{url}?)" if "://" not in url and url else ""
        raise ValueError(f"bridge_url {url!r} is not a websocket address: use ws://host:port or wss://host:port{hint}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"bridge_url {url!r} has an invalid port") from None
    return url


def check_urls(setting: str) -> str:
    """One bridge address, or several separated by commas or white space: each is checked."""
    return ", ".join(check_url(u) for u in re.split(r"[,\s]+", setting.strip()) if u)


def configured_bridge_url(node_input: str = "") -> str | None:
    """The bridge the user named (node input, environment, config file), or None: then the local default applies."""
    url = node_input or os.environ.get("CLIP_AGIQA_BRIDGE_URL") or read_config().get("bridge_url")
    return check_urls(url) if url else None


def bridge_url(node_input: str = "") -> str:
    return configured_bridge_url(node_input) or DEFAULT_URL


def bridge_token() -> str:
    return os.environ.get("CLIP_AGIQA_BRIDGE_TOKEN") or str(read_config().get("token") or "")

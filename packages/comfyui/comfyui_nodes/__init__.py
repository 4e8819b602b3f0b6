"""CLIP-AGIQA quality nodes for ComfyUI: score, quality gate, best of N, through clip-agiqa bridge."""
from __future__ import annotations

import importlib.util
import re

# Node functions are coroutines and their outputs may carry ExecutionBlocker messages: ComfyUI awaits
# async nodes from this version on. The one minimum version, stated in the README and checked here.
MIN_COMFYUI = "0.3.44"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def check_comfyui_version(version: str | None) -> None:
    """Refuses to load into a ComfyUI older than MIN_COMFYUI (None: a ComfyUI too old to state its version)."""
    if version is None or _version_tuple(version) < _version_tuple(MIN_COMFYUI):
        raise RuntimeError(f"comfyui-clip-agiqa needs ComfyUI {MIN_COMFYUI} or later, this is {version or 'an older one'}: update ComfyUI")


def _installed_comfyui_version() -> str | None:
    try:
        from comfyui_version import __version__  # ComfyUI's root module
        return str(__version__)
    except ImportError:
        return None


if importlib.util.find_spec("folder_paths") is not None:  # loaded by ComfyUI (not by tests or tools)
    check_comfyui_version(_installed_comfyui_version())

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "MIN_COMFYUI"]

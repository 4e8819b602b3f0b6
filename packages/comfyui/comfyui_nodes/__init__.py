"""CLIP-AGIQA quality nodes for ComfyUI: score, quality gate, best of N, through clip-agiqa bridge."""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]

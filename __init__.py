"""ComfyUI entry of this repository: a clone of it into ComfyUI/custom_nodes/ (by hand, ComfyUI-Manager's
install by URL, or the Comfy Registry) loads the CLIP-AGIQA node pack, which lives in packages/comfyui."""
from .packages.comfyui.comfyui_nodes import MIN_COMFYUI, NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "MIN_COMFYUI"]

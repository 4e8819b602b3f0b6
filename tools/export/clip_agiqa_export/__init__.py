"""Build CLIP-AGIQA model bundles (ONNX towers + safetensors heads + manifest) from CLIP checkpoints."""

BUNDLE_FORMAT_VERSION = 1
LEVEL_WORDS = ("terrible", "bad", "poor", "average", "good", "perfect")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

"""The reference CLIP test-time recipe in PIL: resize the short side (bicubic), centre crop, normalise.

This mirrors torchvision's Resize(int) + CenterCrop without importing torchvision: the long side becomes
int(S * long / short) and the crop offset is int(round((side - S) / 2)) with Python's round-half-even.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from . import CLIP_MEAN, CLIP_STD

DEFAULT_BACKGROUND = (255, 255, 255)


def load_rgb(path: str, background=DEFAULT_BACKGROUND) -> Image.Image:
    """Decode the first frame, apply EXIF orientation and flatten alpha onto `background`."""
    with Image.open(path) as im:
        im.seek(0)
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            im = im.point(lambda v: v * (1 / 257)).convert("L")
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, background + (255,))
            return Image.alpha_composite(canvas, rgba).convert("RGB")
        return im.convert("RGB")


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def resize_and_crop(img: Image.Image, size: int) -> np.ndarray:
    """uint8 [S, S, 3] after bicubic short-side resize and centre crop."""
    w, h = resized_size(img.width, img.height, size)
    img = img.resize((w, h), Image.BICUBIC)
    left = int(round((w - size) / 2.0))
    top = int(round((h - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    return np.asarray(img, dtype=np.uint8)


def normalise(pixels: np.ndarray, mean=CLIP_MEAN, std=CLIP_STD) -> np.ndarray:
    """uint8 [..., S, S, 3] to float32 [..., 3, S, S], as ToTensor + Normalize compute it."""
    x = pixels.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3), dtype=np.float32)


def preprocess_file(path: str, size: int = 224) -> np.ndarray:
    return resize_and_crop(load_rgb(path), size)

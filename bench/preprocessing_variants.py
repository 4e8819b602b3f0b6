"""Variants of AGIQA-3K images for the preprocessing-differences measurement (bench/preprocessing-differences.ts).

  python3 bench/preprocessing_variants.py DATA_DIR N OUT_DIR [--torch-model DIR]

Writes, for N images spread over AGIQA-3K: an EXIF-rotated JPEG (pixels stored sideways, Orientation 6), an
RGBA PNG (transparent border, half-transparent middle band), a CMYK JPEG (PIL's conversion, no profile) and a
16-bit greyscale PNG (8-bit grey x 257), with the originals; and official.safetensors: the 224x224 pixels the
official CLIP-AGIQA code computes for each file (Dassl's read_image, Image.open(path).convert("RGB"), then
Resize(224, bicubic) + CenterCrop(224)). With --torch-model (a Hugging Face CLIP folder of the bundle's weights
and the bundle's head) it also prints the scores' change when the image tower runs in fp16, as the official
code runs it by default.
"""
from __future__ import annotations

import csv
import json
import os
import sys

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "export"))

from clip_agiqa_export.preprocess import normalise, preprocess_file, resize_and_crop  # noqa: E402

ORIENTATION = 0x0112


def official_pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return resize_and_crop(im.convert("RGB"), 224)


def alpha_mask(w: int, h: int) -> Image.Image:
    a = np.full((h, w), 255, np.uint8)
    a[h // 3: 2 * h // 3, :] = 128
    b = max(1, min(w, h) // 8)
    a[:b, :] = a[-b:, :] = a[:, :b] = a[:, -b:] = 0
    return Image.fromarray(a, "L")


def variants(src: str, out: str, stem: str) -> dict[str, str]:
    im = Image.open(src).convert("RGB")
    files = {"original": os.path.join(out, f"{stem}.png")}
    im.save(files["original"])
    files["exif"] = os.path.join(out, f"{stem}-exif6.jpg")
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # display = stored pixels rotated 90 degrees clockwise
    im.transpose(Image.Transpose.ROTATE_90).save(files["exif"], quality=95, exif=exif.tobytes())
    files["alpha"] = os.path.join(out, f"{stem}-alpha.png")
    rgba = im.copy()
    rgba.putalpha(alpha_mask(*im.size))
    rgba.save(files["alpha"])
    files["cmyk"] = os.path.join(out, f"{stem}-cmyk.jpg")
    im.convert("CMYK").save(files["cmyk"], quality=95)
    files["grey16"] = os.path.join(out, f"{stem}-grey16.png")
    Image.fromarray(np.asarray(im.convert("L"), np.uint16) * 257).save(files["grey16"])
    files["grey8"] = os.path.join(out, f"{stem}-grey8.png")
    im.convert("L").save(files["grey8"])
    return files


def fp16_effect(model_dir: str, head_file: str, paths: list[str]) -> dict:
    import torch
    from transformers import CLIPModel

    from clip_agiqa_export.head import ClipAgiqaHead
    from clip_agiqa_export.onnx_export import ImageTower

    model = CLIPModel.from_pretrained(model_dir).eval()
    head = ClipAgiqaHead.load(head_file)
    x = torch.from_numpy(normalise(np.stack([preprocess_file(p, 224) for p in paths])))
    with torch.no_grad():
        full = head(ImageTower(model)(x))
        embeds = ImageTower(model.half())(x.half())
        # The official forward normalises in the towers' precision, then casts to fp32 for the regression.
        image = (embeds / embeds.norm(dim=-1, keepdim=True)).float()
        text = head.text_features.half()
        text = (text / text.norm(dim=-1, keepdim=True)).float()
        feats = torch.cat([image, text.reshape(1, -1).expand(image.shape[0], -1)], dim=1)
        half = head.fc2(torch.relu(head.fc1(feats))).squeeze(-1)
    d = (half - full).abs()
    return {"mean": float(d.mean()), "max": float(d.max()), "spread": float(full.std())}


def main(argv: list[str]) -> None:
    data, n, out, *rest = argv
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(data, "data.csv"), newline="", encoding="utf-8") as f:
        names = [row["name"] for row in csv.DictReader(f)]
    picked = names[:: max(1, len(names) // int(n))][: int(n)]
    files, pixels = [], {}
    for name in picked:
        stem = os.path.splitext(name)[0]
        v = variants(os.path.join(data, "images", name), out, stem)
        files.append(v)
        for kind, path in v.items():
            pixels[f"{kind}/{stem}"] = official_pixels(path)
    save_file(pixels, os.path.join(out, "official.safetensors"))
    result = {"files": files}
    if rest and rest[0] == "--torch-model":
        result["fp16"] = fp16_effect(rest[1], rest[2], [f["original"] for f in files])
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

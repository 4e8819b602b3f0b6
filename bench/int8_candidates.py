"""Writes the int8 image towers the quantisation benchmark compares, from the benchmark's fp32 ViT-B/16 tower:
- dynamic.onnx: ONNX Runtime's dynamic quantisation as the exporter configures it (int8 weights per output
  channel, uint8 activations, MatMul only) without the per-image Scan: batch-invariant only when it is run
  one image per call;
- static.onnx: static quantisation (QDQ, the same weights; activation scales calibrated once, MinMax, on
  `--calibration` images), batch-invariant by construction;
plus the pixels both are measured on, preprocessed as the bundle says (short side 224 bicubic, centre crop,
CLIP mean/std): calib.f32 (the calibration images) and eval.f32 (other images), raw float32 NCHW.

  python3 bench/int8_candidates.py CACHE_DIR IMAGES_DIR [--calibration N] [--eval N]
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
SIZE = 224


def pixels(path: str) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    scale = SIZE / min(image.size)
    image = image.resize((max(SIZE, round(image.width * scale)), max(SIZE, round(image.height * scale))), Image.BICUBIC)
    left, top = (image.width - SIZE) // 2, (image.height - SIZE) // 2
    array = np.asarray(image.crop((left, top, left + SIZE, top + SIZE)), dtype=np.float32) / 255
    return ((array - MEAN) / STD).transpose(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache")
    parser.add_argument("images")
    parser.add_argument("--calibration", type=int, default=32)
    parser.add_argument("--eval", type=int, default=16)
    args = parser.parse_args()

    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    out = os.path.join(args.cache, "int8-candidates")
    os.makedirs(out, exist_ok=True)
    bundle = os.path.join(args.cache, "vit-b-16")
    with open(os.path.join(bundle, "manifest.json")) as f:
        fp32 = os.path.join(bundle, json.load(f)["image_encoder"]["files"]["fp32"])
    names = sorted(f for f in os.listdir(args.images) if f.lower().endswith((".png", ".jpg", ".jpeg", ".webp")))
    # Every fifth image, so the sets span the folder's generators and prompts rather than its first rows.
    picked = names[::5][: args.calibration + args.eval]
    if len(picked) < args.calibration + args.eval:
        raise SystemExit(f"{args.images}: {len(picked)} images picked, {args.calibration + args.eval} needed")
    batch = np.stack([pixels(os.path.join(args.images, f)) for f in picked])
    calib, evaluation = batch[: args.calibration], batch[args.calibration:]
    calib.tofile(os.path.join(out, "calib.f32"))
    evaluation.tofile(os.path.join(out, "eval.f32"))

    quantize_dynamic(fp32, os.path.join(out, "dynamic.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], extra_options={"MatMulConstBOnly": True})

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self.images = iter(calib)

        def get_next(self):
            image = next(self.images, None)
            return None if image is None else {"pixel_values": image[None]}

    quantize_static(fp32, os.path.join(out, "static.onnx"), Calibration(), quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=["MatMul"], per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"MatMulConstBOnly": True})
    print(f"wrote {out}: {len(calib)} calibration and {len(evaluation)} evaluation images")


if __name__ == "__main__":
    main()

"""Reduced-precision variants of an exported image tower, each with an accuracy guard against fp32."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.float16 import convert_float_to_float16

PRECISIONS = ("int8", "fp16")


def make_variant(precision: str, fp32_path: str, out_path: str) -> None:
    if precision == "int8":
        # Dynamic quantisation: int8 weights, activations quantised per batch at run time (u8s8, which
        # AVX-512 VNNI and AVX2 run natively). No calibration data needed, so no calibration bias.
        quantize_dynamic(fp32_path, out_path, weight_type=QuantType.QInt8)
    elif precision == "fp16":
        # For GPUs: inputs and outputs stay float32 so callers do not change.
        model = convert_float_to_float16(onnx.load(fp32_path), keep_io_types=True)
        onnx.save(model, out_path)
    else:
        raise ValueError(f"unknown precision {precision} (choose from {', '.join(PRECISIONS)})")


def cosine_guard(fp32_path: str, variant_path: str, inputs: list[np.ndarray]) -> dict:
    """Cosine similarity of the variant's embeddings to fp32's, per image: min and mean."""
    def run(path: str, x: np.ndarray) -> np.ndarray:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return sess.run(None, {sess.get_inputs()[0].name: x})[0]

    cosines = []
    for batch in inputs:
        a, b = run(fp32_path, batch), run(variant_path, batch)
        cosines.extend((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
    return {"min_cosine": float(np.min(cosines)), "mean_cosine": float(np.mean(cosines)), "images": len(cosines)}

"""Reduced-precision variants of an exported image tower, each with an accuracy guard against fp32."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.transformers.float16 import convert_float_to_float16

from .int8 import METHOD as INT8_METHOD, quantize_int8

PRECISIONS = ("int8", "fp16")
METHODS = {"int8": INT8_METHOD, "fp16": "float16 weights and activations, float32 inputs and outputs (for GPUs)"}
# An image's embedding alone and inside a batch: fp32 kernels may only reorder sums.
BATCH_TOLERANCE = 1e-5


def make_variant(precision: str, fp32_path: str, out_path: str) -> None:
    if precision == "int8":
        quantize_int8(fp32_path, out_path)
    elif precision == "fp16":
        # For GPUs: inputs and outputs stay float32 so callers do not change.
        model = convert_float_to_float16(onnx.load(fp32_path), keep_io_types=True)
        onnx.save(model, out_path)
    else:
        raise ValueError(f"unknown precision {precision} (choose from {', '.join(PRECISIONS)})")


def _session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def _run(sess: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def cosine_guard(fp32_path: str, variant_path: str, inputs: list[np.ndarray]) -> dict:
    """Cosine of the variant's embeddings to fp32's per image (min, mean), and the largest difference between an
    image's variant embedding computed alone and inside its batch."""
    reference, variant = _session(fp32_path), _session(variant_path)
    cosines, batch_diff = [], 0.0
    for batch in inputs:
        a, b = _run(reference, batch), _run(variant, batch)
        cosines.extend((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
        alone = np.concatenate([_run(variant, batch[i:i + 1]) for i in range(len(batch))])
        batch_diff = max(batch_diff, float(np.abs(alone - b).max()))
    return {"min_cosine": float(np.min(cosines)), "mean_cosine": float(np.mean(cosines)), "images": len(cosines),
            "max_batch_diff": batch_diff}

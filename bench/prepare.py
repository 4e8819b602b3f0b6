"""Builds what the benchmark needs, once, into a cache folder:
- a ViT-B/16-shaped CLIP-AGIQA bundle with random weights (speed does not depend on their values), with an
  int8 tower, and its PyTorch twin for the reference runs;
- the same CLIP in the transformers.js layout (transformersjs/clip-vit-b-16), written by the exporter's
  `--layout transformers-js` from the same seed (config.json, preprocessor_config.json, tokenizer,
  onnx/vision_model.onnx, onnx/text_model.onnx), plus onnx/vision_model_quantized.onnx quantised the way
  transformers.js models usually are: ONNX Runtime's dynamic quantisation, one activation scale per tensor;
- gemm-vit-mlp4.onnx: four ViT-B/16 MLP blocks without activations over a batch of 8 (1576x768 @ 768x3072 @
  3072x768, four times): the dense-math rate ONNX Runtime reaches on this machine, with compute dominating the
  cost of moving inputs and outputs in and out of JavaScript; gemm-vit-mlp4.int8.onnx: the same products
  quantised as the int8 tower's are (dynamic u8s8, per-channel weights);
- vit-b-16-text: the same bundle (fp32) with CLIP's text tower, for what scoring against the prompt costs.

  python3 bench/prepare.py CACHE_DIR [--text-only]
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))

from clip_agiqa_export.precision import METHODS  # noqa: E402

# int8 for CPUs; fp16 for the GPU rows (CPUs run it through casts, slowly, so the CPU rows skip it).
PRECISIONS = "int8,fp16"
GEMM_ROWS, GEMM_INNER, GEMM_COLS, GEMM_BLOCKS = 8 * 197, 768, 3072, 4
TRANSFORMERS_JS_ID = "clip-vit-b-16"
SEED = 0  # the bundle and the transformers.js folder hold the same weights
STAMP = ".exporter-stamp"
GEMM_INT8 = "gemm-vit-mlp4.int8.onnx"


def exporter_stamp() -> str:
    """A digest of the exporter's sources that shape the towers' graphs: a changed exporter rebuilds the cache."""
    digest = hashlib.sha256()
    folder = os.path.join(ROOT, "tools", "export", "clip_agiqa_export")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            digest.update(name.encode() + open(os.path.join(folder, name), "rb").read())
    return digest.hexdigest()


def bundle_is_current(bundle: str) -> bool:
    manifest = os.path.join(bundle, "manifest.json")
    stamp = os.path.join(bundle, STAMP)
    if not os.path.exists(manifest) or not os.path.exists(stamp) or open(stamp).read() != exporter_stamp():
        return False
    encoder = json.load(open(manifest))["image_encoder"]
    return all(p in encoder["files"] and encoder.get("accuracy", {}).get(p, {}).get("method") == METHODS[p] for p in PRECISIONS.split(","))


def write_transformers_js(cache: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = os.path.join(cache, "transformersjs", TRANSFORMERS_JS_ID)
    quantised = os.path.join(folder, "onnx", "vision_model_quantized.onnx")
    if os.path.exists(quantised):
        return
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export"), "--random", "vit-b-16", "--seed", str(SEED),
                    "--layout", "transformers-js", "--precisions", "", "--out", folder], check=True)
    quantize_dynamic(os.path.join(folder, "onnx", "vision_model.onnx"), quantised, weight_type=QuantType.QInt8)


def write_gemm(path: str) -> None:
    import torch

    class MatMul(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = torch.nn.ParameterList(torch.nn.Parameter(torch.randn(GEMM_INNER, GEMM_COLS) / GEMM_INNER ** 0.5) for _ in range(GEMM_BLOCKS))
            self.down = torch.nn.ParameterList(torch.nn.Parameter(torch.randn(GEMM_COLS, GEMM_INNER) / GEMM_COLS ** 0.5) for _ in range(GEMM_BLOCKS))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for up, down in zip(self.up, self.down):
                x = (x @ up) @ down
            return x

    torch.onnx.export(MatMul(), (torch.randn(GEMM_ROWS, GEMM_INNER),), path, input_names=["x"], output_names=["y"],
                      opset_version=17, dynamo=False)


def write_text_bundle(cache: str) -> None:
    bundle = os.path.join(cache, "vit-b-16-text")
    stamp = os.path.join(bundle, STAMP)
    if os.path.exists(os.path.join(bundle, "manifest.json")) and os.path.exists(stamp) and open(stamp).read() == exporter_stamp():
        return
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export"), "--random", "vit-b-16", "--seed", str(SEED), "--out", bundle], check=True)
    with open(stamp, "w") as f:
        f.write(exporter_stamp())


def main(cache: str, text_only: bool = False) -> None:
    write_text_bundle(cache)
    if text_only:
        return
    bundle = os.path.join(cache, "vit-b-16")
    torch_dir = os.path.join(cache, "vit-b-16-torch")
    if not bundle_is_current(bundle):
        shutil.rmtree(os.path.join(cache, "transformersjs"), ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export"), "--random", "vit-b-16", "--seed", str(SEED),
                        "--no-text", "--precisions", PRECISIONS, "--save-torch", torch_dir, "--out", bundle], check=True)
        with open(os.path.join(bundle, STAMP), "w") as f:
            f.write(exporter_stamp())
    write_transformers_js(cache)
    gemm = os.path.join(cache, "gemm-vit-mlp4.onnx")
    if not os.path.exists(gemm):
        write_gemm(gemm)
    if not os.path.exists(os.path.join(cache, GEMM_INT8)):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(gemm, os.path.join(cache, GEMM_INT8), weight_type=QuantType.QInt8, per_channel=True)


if __name__ == "__main__":
    main(sys.argv[1], "--text-only" in sys.argv[2:])

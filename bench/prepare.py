"""Builds what the benchmark needs, once, into a cache folder:
- a ViT-B/16-shaped CLIP-AGIQA bundle with random weights (speed does not depend on their values), with an
  int8 tower, and its PyTorch twin for the reference runs;
- gemm-vit-mlp.onnx: four ViT-B/16 MLP blocks without activations over a batch of 8 (1576x768 @ 768x3072 @
  3072x768, four times): the dense-math rate ONNX Runtime reaches on this machine, with compute dominating the
  cost of moving inputs and outputs in and out of JavaScript.

  python3 bench/prepare.py CACHE_DIR
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# int8 for CPUs; fp16 for the GPU rows (CPUs run it through casts, slowly, so the CPU rows skip it).
PRECISIONS = "int8,fp16"
# int8 for CPUs; fp16 for the GPU rows (CPUs run it through casts, slowly, so the CPU rows skip it).
PRECISIONS = "int8,fp16"
GEMM_ROWS, GEMM_INNER, GEMM_COLS, GEMM_BLOCKS = 8 * 197, 768, 3072, 4


def main(cache: str) -> None:
    bundle = os.path.join(cache, "vit-b-16")
    manifest = os.path.join(bundle, "manifest.json")
    have = json.load(open(manifest))["image_encoder"]["files"] if os.path.exists(manifest) else {}
    if any(p not in have for p in PRECISIONS.split(",")):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export"), "--random", "vit-b-16", "--seed", "0",
                        "--no-text", "--precisions", PRECISIONS, "--save-torch", os.path.join(cache, "vit-b-16-torch"),
                        "--out", bundle], check=True)
    gemm = os.path.join(cache, "gemm-vit-mlp4.onnx")
    if not os.path.exists(gemm):
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

        torch.onnx.export(MatMul(), (torch.randn(GEMM_ROWS, GEMM_INNER),), gemm, input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(sys.argv[1])

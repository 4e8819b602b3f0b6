"""Builds what the benchmark needs, once, into a cache folder:
- a ViT-B/16-shaped CLIP-AGIQA bundle with random weights (speed does not depend on their values), with an
  int8 tower, and its PyTorch twin for the reference runs;
- gemm.onnx: one float32 MatMul shaped like a ViT-B/16 MLP layer over a batch of 8 (1576x768 @ 768x3072), to
  measure the dense-math rate ONNX Runtime reaches on this machine.

  python3 bench/prepare.py CACHE_DIR
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEMM_ROWS, GEMM_INNER, GEMM_COLS = 8 * 197, 768, 3072


def main(cache: str) -> None:
    bundle = os.path.join(cache, "vit-b-16")
    if not os.path.exists(os.path.join(bundle, "manifest.json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export"), "--random", "vit-b-16", "--seed", "0",
                        "--no-text", "--precisions", "int8", "--save-torch", os.path.join(cache, "vit-b-16-torch"),
                        "--out", bundle], check=True)
    gemm = os.path.join(cache, "gemm-vit-mlp.onnx")
    if not os.path.exists(gemm):
        import torch

        class MatMul(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.w = torch.nn.Parameter(torch.randn(GEMM_INNER, GEMM_COLS) / GEMM_INNER ** 0.5)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x @ self.w

        torch.onnx.export(MatMul(), (torch.randn(GEMM_ROWS, GEMM_INNER),), gemm, input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(sys.argv[1])

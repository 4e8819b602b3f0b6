"""Checks of tools/export that need PyTorch; driven by test/export.parity.test.ts.

  python3 test/python/export_checks.py verify-catches-drift
  python3 test/python/export_checks.py openai-checkpoint WORKDIR
  python3 test/python/export_checks.py hf-folder WORKDIR
  python3 test/python/export_checks.py trained-head WORKDIR
Each prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from clip_agiqa_export.checkpoint import BLOCK_PARTS, TOP_LEVEL, TRANSPOSED  # noqa: E402
from clip_agiqa_export.head import ClipAgiqaHead  # noqa: E402
from clip_agiqa_export.onnx_export import (  # noqa: E402
    ImageTower, VerificationError, export_image_tower, verification_inputs_image, verify,
)
from clip_agiqa_export.preprocess import normalise, preprocess_file  # noqa: E402
from clip_agiqa_export.tiny import tiny_bpe, tiny_clip, write_tokenizer  # noqa: E402

EXPORT = [sys.executable, os.path.join(ROOT, "tools", "export")]


def run_export(*args: str) -> None:
    subprocess.run(EXPORT + list(args), check=True, capture_output=True, text=True)


def verify_catches_drift(_work: str = "") -> dict:
    model = tiny_clip(1, len(tiny_bpe()[0]))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "image.onnx")
        export_image_tower(model, path)
        inputs = verification_inputs_image(224, 0)
        clean = verify(ImageTower(model), path, inputs)
        with torch.no_grad():
            model.visual_projection.weight[0, 0] += 1e-2  # PyTorch and the ONNX file now disagree
        try:
            verify(ImageTower(model), path, inputs)
            caught = None
        except VerificationError as e:
            caught = str(e)
    return {"clean_max_diff": clean, "caught": caught}


def to_openai(sd: dict) -> dict:
    """The inverse of checkpoint.convert_openai_state_dict, written independently of it from the OpenAI layout."""
    out = {}
    inv_top = {v: k for k, v in TOP_LEVEL.items()}
    inv_t = {v: k for k, v in TRANSPOSED.items()}
    inv_block = {v: k for k, v in BLOCK_PARTS.items()}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key.endswith("position_ids"):
            continue
        if key in inv_top:
            out[inv_top[key]] = value
        elif key in inv_t:
            out[inv_t[key]] = value.t().contiguous()
        else:
            tower, _, _, i, *rest = key.split(".")
            prefix = ("visual." if tower == "vision_model" else "") + f"transformer.resblocks.{i}."
            module, param = ".".join(rest[:-1]), rest[-1]
            if module.startswith("self_attn.") and module[10:] in ("q_proj", "k_proj", "v_proj"):
                qkv.setdefault(f"{prefix}attn.in_proj_{param}", {})[module[10]] = value
            else:
                out[prefix + inv_block[module] + "." + param] = value
    for name, parts in qkv.items():
        out[name] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    return out


def image_embeds_onnx(path: str, pixels: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"pixel_values": pixels})[0]


def openai_checkpoint(work: str) -> dict:
    vocab, merges = tiny_bpe()
    model = tiny_clip(3, len(vocab))
    tok = os.path.join(work, "tok")
    write_tokenizer(tok, vocab, merges)
    ckpt = os.path.join(work, "openai.pt")
    torch.save(to_openai(model.state_dict()), ckpt)
    out = os.path.join(work, "bundle")
    run_export("--checkpoint", ckpt, "--tokenizer", tok, "--heads", "2", "2", "--out", out)
    pixels = np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32)
    with torch.no_grad():
        expected = ImageTower(model)(torch.from_numpy(pixels)).numpy()
    got = image_embeds_onnx(os.path.join(out, "image_encoder.onnx"), pixels)
    return {"max_diff": float(np.abs(got - expected).max()), "manifest": json.load(open(os.path.join(out, "manifest.json")))}


def save_tiny_hf_folder(seed: int, work: str):
    """A tiny CLIP saved as a Hugging Face folder with its tokenizer files, as users download them."""
    vocab, merges = tiny_bpe()
    model = tiny_clip(seed, len(vocab))
    folder = os.path.join(work, "hf")
    model.save_pretrained(folder)
    write_tokenizer(folder, vocab, merges)
    return model, folder


def hf_folder(work: str) -> dict:
    _, folder = save_tiny_hf_folder(4, work)
    out = os.path.join(work, "bundle")
    run_export("--checkpoint", folder, "--out", out)
    return {"manifest": json.load(open(os.path.join(out, "manifest.json")))}


def trained_head(work: str) -> dict:
    """A bundle with a given head file: the TS scorer must reproduce this PyTorch score for the golden pixels."""
    model, folder = save_tiny_hf_folder(5, work)
    torch.manual_seed(11)
    head = ClipAgiqaHead(model.config.projection_dim, torch.randn(6, model.config.projection_dim))
    with torch.no_grad():
        head.fc2.weight.mul_(30)
        head.fc2.bias.fill_(50)
    head_file = os.path.join(work, "head.safetensors")
    head.eval().save(head_file)
    training = os.path.join(work, "training.json")
    json.dump({"dataset": "AGIQA-3K", "target": "mos_quality", "protocol": "test", "metrics": {"srcc": 0.5}}, open(training, "w"))
    out = os.path.join(work, "bundle")
    run_export("--checkpoint", folder, "--out", out, "--head", f"authenticity={head_file}:{training}", "--score-range", "0", "100")
    image = os.path.join(ROOT, "test", "fixtures", "images", "landscape.jpg")
    pixels = preprocess_file(image, 224)
    with torch.no_grad():
        score = float(head(ImageTower(model)(torch.from_numpy(normalise(pixels)[None])))[0])
    return {"bundle": out, "image": image, "score": score, "manifest": json.load(open(os.path.join(out, "manifest.json")))}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    result = {"verify-catches-drift": verify_catches_drift, "openai-checkpoint": openai_checkpoint,
              "hf-folder": hf_folder, "trained-head": trained_head}[command](*args)
    print(json.dumps(result))

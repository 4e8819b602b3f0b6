"""Write a CLIP in the transformers.js / Optimum ONNX layout, as `Xenova/clip-vit-base-patch16` hosts it:

  config.json, preprocessor_config.json, tokenizer.json (+ tokenizer_config.json, vocab.json, merges.txt)
  onnx/vision_model.onnx   pixel_values -> image_embeds, last_hidden_state
  onnx/text_model.onnx     input_ids, attention_mask -> text_embeds, last_hidden_state
  onnx/vision_model_quantized.onnx, onnx/vision_model_fp16.onnx (optional variants)

Tensor names and dynamic axes follow Optimum's `clip-vision-model` / `clip-text-model` exports. The
tokenizer files are written by transformers' fast tokenizer, i.e. by the `tokenizers` library.
"""
from __future__ import annotations

import os
import shutil
import sys
import warnings

import numpy as np
import torch
from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizerFast

from . import CLIP_MEAN, CLIP_STD
from .onnx_export import OPSET, verification_inputs_image, verify
from .precision import make_variant

# File suffix of each reduced-precision variant, as transformers.js names them.
VARIANT_SUFFIX = {"int8": "_quantized", "fp16": "_fp16"}


class VisionWithProjection(torch.nn.Module):
    def __init__(self, model: CLIPModel):
        super().__init__()
        self.vision = model.vision_model
        self.projection = model.visual_projection

    def forward(self, pixel_values: torch.Tensor):
        out = self.vision(pixel_values=pixel_values)
        return self.projection(out.pooler_output), out.last_hidden_state


class TextWithProjection(torch.nn.Module):
    def __init__(self, model: CLIPModel):
        super().__init__()
        self.text = model.text_model
        self.projection = model.text_projection

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        out = self.text(input_ids=input_ids, attention_mask=attention_mask)
        return self.projection(out.pooler_output), out.last_hidden_state


def _export(module: torch.nn.Module, args: tuple, path: str, inputs: dict, outputs: list[str]) -> None:
    axes = {**inputs, **{o: {0: "batch_size"} if o.endswith("embeds") else {0: "batch_size", 1: "sequence_length"} for o in outputs}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, path, input_names=list(inputs), output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


class _FirstOutput(torch.nn.Module):
    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, *args):
        return self.module(*args)[0]


def export_vision(model: CLIPModel, path: str, seed: int) -> float:
    size = model.config.vision_config.image_size
    _export(VisionWithProjection(model), (torch.zeros(1, 3, size, size),), path,
            {"pixel_values": {0: "batch_size", 1: "num_channels", 2: "height", 3: "width"}}, ["image_embeds", "last_hidden_state"])
    return verify(_FirstOutput(VisionWithProjection(model)), path, verification_inputs_image(size, seed))


def export_text(model: CLIPModel, path: str, tokenizer: CLIPTokenizerFast) -> float:
    ctx = model.config.text_config.max_position_embeddings
    example = tokenizer(["a photo"], padding="max_length", max_length=ctx, return_tensors="pt")
    _export(TextWithProjection(model), (example["input_ids"], example["attention_mask"]), path,
            {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"}},
            ["text_embeds", "last_hidden_state"])
    # Checked at the full context and at a shorter padded length (the sequence axis is dynamic).
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    texts = ["a photo of good quality.", "bad", "a photo of terrible quality. a photo of perfect quality."]
    for length in (ctx, 16):
        enc = tokenizer(texts, padding="max_length", max_length=length, truncation=True, return_tensors="np")
        with torch.no_grad():
            expected = TextWithProjection(model)(torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"]))[0].numpy()
        actual = session.run(["text_embeds"], {"input_ids": enc["input_ids"].astype(np.int64),
                                               "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
        worst = max(worst, float(np.abs(actual - expected).max()))
    if not worst <= 1e-4:
        raise SystemExit(f"{path}: ONNX Runtime differs from PyTorch by {worst:.3g}")
    return worst


def write_transformers_js(model: CLIPModel, tokenizer_dir: str, out: str, precisions: list[str], seed: int) -> None:
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model.config.save_pretrained(out)
    size = model.config.vision_config.image_size
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}, resample=3,
                       image_mean=list(CLIP_MEAN), image_std=list(CLIP_STD)).save_pretrained(out)
    tokenizer = CLIPTokenizerFast.from_pretrained(tokenizer_dir, from_slow=True)
    tokenizer.save_pretrained(out)
    for f in ("vocab.json", "merges.txt"):  # the slow-tokenizer files, which the hub repos carry beside tokenizer.json
        shutil.copyfile(os.path.join(tokenizer_dir, f), os.path.join(out, f))

    vision = os.path.join(out, "onnx", "vision_model.onnx")
    worst = export_vision(model, vision, seed)
    print(f"vision_model.onnx: ONNX Runtime vs PyTorch max |diff| = {worst:.2e}", file=sys.stderr)
    worst = export_text(model, os.path.join(out, "onnx", "text_model.onnx"), tokenizer)
    print(f"text_model.onnx: ONNX Runtime vs PyTorch max |diff| = {worst:.2e}", file=sys.stderr)
    for precision in precisions:
        if precision not in VARIANT_SUFFIX:
            raise SystemExit(f"unknown precision {precision} (choose from {', '.join(VARIANT_SUFFIX)})")
        make_variant(precision, vision, os.path.join(out, "onnx", f"vision_model{VARIANT_SUFFIX[precision]}.onnx"))

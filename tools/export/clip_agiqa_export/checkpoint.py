"""Load CLIP checkpoints into transformers' CLIPModel.

Accepted sources:
- a local Hugging Face folder (config.json + weights, optional vocab.json/merges.txt);
- an OpenAI state dict (the TorchScript .pt archives OpenAI published, or a plain state dict) or an
  OpenCLIP state dict (.pt/.bin/.safetensors): keys `visual.*`, `transformer.*`, `token_embedding.*` ...
  The architecture is read from the tensor shapes; OpenAI models use QuickGELU, most OpenCLIP ones GELU.
"""
from __future__ import annotations

import math
import os
import re

import torch
from transformers import CLIPConfig, CLIPModel

RESBLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")
BLOCK_PARTS = {
    "ln_1": "layer_norm1",
    "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
    "attn.out_proj": "self_attn.out_proj",
}
TOP_LEVEL = {
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight",
    "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "visual.ln_post.weight": "vision_model.post_layernorm.weight",
    "visual.ln_post.bias": "vision_model.post_layernorm.bias",
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
    "logit_scale": "logit_scale",
}
TRANSPOSED = {"visual.proj": "visual_projection.weight", "text_projection": "text_projection.weight"}


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    try:
        return torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        obj = torch.load(path, map_location="cpu", weights_only=True)
        return obj.get("state_dict", obj) if isinstance(obj, dict) else obj


def _count_blocks(sd: dict[str, torch.Tensor], prefix: str) -> int:
    idx = {int(k[len(prefix):].split(".")[0]) for k in sd if k.startswith(prefix)}
    return max(idx) + 1 if idx else 0


def config_from_openai(sd: dict[str, torch.Tensor], hidden_act: str = "quick_gelu", heads: tuple[int, int] | None = None) -> CLIPConfig:
    """Architecture from tensor shapes. Head counts are not stored: OpenAI and OpenCLIP use width // 64."""
    if "visual.proj" not in sd:
        raise ValueError("not an OpenAI/OpenCLIP ViT state dict: key visual.proj is missing")
    v_width = sd["visual.conv1.weight"].shape[0]
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = math.isqrt(sd["visual.positional_embedding"].shape[0] - 1)
    t_width = sd["ln_final.weight"].shape[0]
    embed_dim = sd["visual.proj"].shape[1]
    vocab = sd["token_embedding.weight"].shape[0]
    v_heads, t_heads = heads or (v_width // 64, t_width // 64)
    return CLIPConfig(
        projection_dim=embed_dim,
        vision_config=dict(
            hidden_size=v_width, intermediate_size=sd["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            num_hidden_layers=_count_blocks(sd, "visual.transformer.resblocks."), num_attention_heads=v_heads,
            image_size=patch * grid, patch_size=patch, projection_dim=embed_dim, hidden_act=hidden_act,
        ),
        text_config=dict(
            hidden_size=t_width, intermediate_size=sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            num_hidden_layers=_count_blocks(sd, "transformer.resblocks."), num_attention_heads=t_heads,
            vocab_size=vocab, max_position_embeddings=sd["positional_embedding"].shape[0],
            projection_dim=embed_dim, hidden_act=hidden_act, bos_token_id=vocab - 2, eos_token_id=vocab - 1,
        ),
    )


def convert_openai_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key in TOP_LEVEL:
            out[TOP_LEVEL[key]] = value
        elif key in TRANSPOSED:
            out[TRANSPOSED[key]] = value.t().contiguous()
        elif m := RESBLOCK.match(key):
            tower = "vision_model" if m.group(1) else "text_model"
            base = f"{tower}.encoder.layers.{m.group(2)}."
            rest = m.group(3)
            if rest.startswith("attn.in_proj_"):
                kind = rest.rsplit("_", 1)[1]  # weight | bias
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{base}self_attn.{name}.{kind}"] = part.contiguous()
                continue
            module, param = rest.rsplit(".", 1)
            if module not in BLOCK_PARTS:
                raise ValueError(f"unexpected key in OpenAI/OpenCLIP state dict: {key}")
            out[f"{base}{BLOCK_PARTS[module]}.{param}"] = value
        elif key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):
            continue
        else:
            raise ValueError(f"unexpected key in OpenAI/OpenCLIP state dict: {key}")
    return out


def load_openai(path: str, hidden_act: str = "quick_gelu", heads: tuple[int, int] | None = None) -> CLIPModel:
    sd = read_state_dict(path)
    model = CLIPModel(config_from_openai(sd, hidden_act, heads))
    missing, unexpected = model.load_state_dict(convert_openai_state_dict(sd), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"checkpoint does not fit CLIP: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


def load_checkpoint(path: str, hidden_act: str = "quick_gelu", heads: tuple[int, int] | None = None) -> tuple[CLIPModel, str | None]:
    """Returns the model and the folder holding vocab.json/merges.txt, if the checkpoint has one."""
    if os.path.isdir(path):
        model = CLIPModel.from_pretrained(path, local_files_only=True).eval()
        has_tokenizer = all(os.path.exists(os.path.join(path, f)) for f in ("vocab.json", "merges.txt"))
        return model, path if has_tokenizer else None
    return load_openai(path, hidden_act, heads), None

"""A tiny, seeded, randomly initialised CLIP and a matching CLIP-format BPE tokenizer.

Same architecture family as ViT-B/16 CLIP (pre-norm ViT image tower, causal text transformer, linear
projections) at small widths, so every code path runs in tests. Its weights are random: it is untrained
and its scores mean nothing.
"""
from __future__ import annotations

import json
import os

import torch
from transformers import CLIPConfig, CLIPModel

from . import LEVEL_WORDS

TINY_WORDS = ("a", "photo", "of", "quality") + LEVEL_WORDS


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def tiny_bpe(words=TINY_WORDS) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A vocabulary built the way CLIP builds its own, with merges that make each word one token."""
    merges: list[tuple[str, str]] = []
    for word in words:
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            if pair not in merges:
                merges.append(pair)
            symbols = [symbols[0] + symbols[1]] + symbols[2:]
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer(folder: str, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def tiny_config(vocab_size: int, image_size: int = 224) -> CLIPConfig:
    embed_dim = 64
    return CLIPConfig(
        projection_dim=embed_dim,
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                           image_size=image_size, patch_size=32, projection_dim=embed_dim, hidden_act="quick_gelu"),
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77, projection_dim=embed_dim,
                         hidden_act="quick_gelu", bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                         pad_token_id=vocab_size - 1),
    )


def tiny_clip(seed: int, vocab_size: int) -> CLIPModel:
    torch.manual_seed(seed)
    model = CLIPModel(tiny_config(vocab_size)).eval()
    # CLIPModel's initialiser draws tiny weights for some layers; redraw every parameter from one seeded
    # generator so the model is a function of the seed alone, whatever the transformers version does.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("logit_scale"):
                continue
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen) if name.endswith("weight") else 0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.numel() // p.shape[0] if p.dim() > 1 else p.shape[0]
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
    return model


def vit_b16_config(vocab_size: int) -> CLIPConfig:
    """CLIP ViT-B/16's shapes: image tower width 768, 12 layers, 12 heads, patch 16; text tower 512 wide."""
    return CLIPConfig(
        projection_dim=512,
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=224, patch_size=16, projection_dim=512, hidden_act="quick_gelu"),
        text_config=dict(vocab_size=vocab_size, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, max_position_embeddings=77, projection_dim=512, hidden_act="quick_gelu",
                         bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1),
    )


def random_vit_b16(seed: int, vocab_size: int) -> CLIPModel:
    """ViT-B/16-shaped CLIP with transformers' own initialisation (seeded): speed and quantisation tests."""
    torch.manual_seed(seed)
    return CLIPModel(vit_b16_config(vocab_size)).eval()


RANDOM_ARCHS = {"tiny": tiny_clip, "vit-b-16": random_vit_b16}

"""Export CLIP's towers to ONNX and verify ONNX Runtime against PyTorch on the same inputs."""
from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import torch
from transformers import CLIPModel

OPSET = 17
TOLERANCE = 1e-4


class ImageTower(torch.nn.Module):
    """pixel_values [N,3,S,S] -> image_embeds [N,D]: CLIP's projection output, not normalised."""

    def __init__(self, model: CLIPModel):
        super().__init__()
        self.vision = model.vision_model
        self.projection = model.visual_projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(self.vision(pixel_values=pixel_values).pooler_output)


class PooledImageTower(torch.nn.Module):
    """ImageTower's function with less arithmetic, for export: the embedding reads only the class token of
    the last layer, so that layer is computed for that one token (see `_class_token_of_last_layer`). Every
    other layer is CLIP's own. About 8% fewer operations for ViT-B/16; `verify` checks the export against
    ImageTower, i.e. CLIP's full forward."""

    def __init__(self, model: CLIPModel):
        super().__init__()
        self.vision = model.vision_model
        self.projection = model.visual_projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        vision = self.vision
        hidden = vision.pre_layrnorm(vision.embeddings(pixel_values))
        *layers, last = vision.encoder.layers
        for layer in layers:
            hidden = layer(hidden, None)
        return self.projection(vision.post_layernorm(_class_token_of_last_layer(last, hidden)))


def _class_token_of_last_layer(layer: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """A CLIP encoder layer's output for token 0 alone: [N,T,D] -> [N,D].

    Keys and values are never formed for every token. With x_t the normalised tokens and W_k[h], b_k[h]
    head h's rows of the key projection, the class token's attention logits are
    q_h . (W_k[h] x_t + b_k[h]) = (W_k[h]^T q_h) . x_t + q_h . b_k[h]; the last term is the same for every
    token, so softmax drops it. Its attention output is sum_t w_t (W_v[h] x_t + b_v[h])
    = W_v[h] (sum_t w_t x_t) + b_v[h], as the weights sum to 1. Both turn products with all T tokens
    through a DxD projection into products of one vector per head.
    """
    attn = layer.self_attn
    n, _, d = hidden.shape
    heads, head_dim = attn.num_heads, attn.head_dim
    normed = layer.layer_norm1(hidden)
    query = attn.q_proj(normed[:, 0]) * attn.scale  # [N,D]
    # Every product below is one per image (the batch only broadcasts), so that an image's embedding is
    # bit-identical alone and in any batch, as with CLIP's own layers.
    # [N,H,1,hd] @ [H,hd,D] -> [N,H,1,D]: each head's query carried back through its key projection.
    key_weight = attn.k_proj.weight.view(heads, head_dim, d)
    query_in_tokens = torch.matmul(query.view(n, heads, 1, head_dim), key_weight).view(n, heads, d)
    logits = torch.matmul(normed, query_in_tokens.transpose(1, 2))  # [N,T,H]
    weights = torch.softmax(logits, dim=1).transpose(1, 2)  # [N,H,T]
    mixed = torch.matmul(weights, normed)  # [N,H,D]: each head's weighted mean of the normalised tokens
    value_weight = attn.v_proj.weight.view(heads, head_dim, d).transpose(1, 2)  # [H,D,hd]
    values = torch.matmul(mixed.view(n, heads, 1, d), value_weight).reshape(n, d) + attn.v_proj.bias
    token = hidden[:, 0] + attn.out_proj(values)
    return token + layer.mlp(layer.layer_norm2(token))


class TextTower(torch.nn.Module):
    """input_ids [N,77] int64 -> text_embeds [N,D]: CLIP's projection output, not normalised."""

    def __init__(self, model: CLIPModel):
        super().__init__()
        self.text = model.text_model
        self.projection = model.text_projection

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.projection(self.text(input_ids=input_ids).pooler_output)


class VerificationError(RuntimeError):
    pass


def _export(module: torch.nn.Module, example: torch.Tensor, path: str, input_name: str, output_name: str) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), (example,), path, input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )


def export_image_tower(model: CLIPModel, path: str) -> None:
    size = model.config.vision_config.image_size
    _export(PooledImageTower(model), torch.zeros(1, 3, size, size), path, "pixel_values", "image_embeds")


def export_text_tower(model: CLIPModel, path: str) -> None:
    ctx = model.config.text_config.max_position_embeddings
    _export(TextTower(model), torch.zeros(1, ctx, dtype=torch.int64), path, "input_ids", "text_embeds")


def verify(module: torch.nn.Module, path: str, inputs: list[np.ndarray], tolerance: float = TOLERANCE) -> float:
    """Runs PyTorch and ONNX Runtime on each input batch; raises if any output differs by more than tolerance."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for batch in inputs:
        with torch.no_grad():
            expected = module.eval()(torch.from_numpy(batch)).numpy()
        actual = session.run(None, {name: batch})[0]
        if actual.shape != expected.shape:
            raise VerificationError(f"{path}: ONNX output shape {actual.shape} != PyTorch {expected.shape}")
        worst = max(worst, float(np.abs(actual - expected).max()))
    if not worst <= tolerance:
        raise VerificationError(f"{path}: ONNX Runtime differs from PyTorch by {worst:.3g} (> {tolerance:g})")
    return worst


def verification_inputs_image(size: int, seed: int, extra: list[np.ndarray] = ()) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 3, size, size), dtype=np.float32) for n in (1, 3)] + list(extra)


def verification_inputs_text(vocab_size: int, ctx: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 4):
        ids = rng.integers(0, vocab_size - 2, size=(n, ctx), dtype=np.int64)
        ids[:, 0] = vocab_size - 2
        lengths = rng.integers(2, ctx, size=n)
        for row, length in zip(ids, lengths):
            row[length:] = vocab_size - 1
        out.append(ids)
    return out

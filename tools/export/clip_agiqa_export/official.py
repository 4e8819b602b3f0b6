"""Import a model trained with the official CLIP-AGIQA code (github.com/wzczc/CLIP-AGIQA, built on CoOp/Dassl).

Its training run writes two Dassl checkpoints per saved epoch under its output folder:

- ``prompt_learner/model.pth.tar-N``: ``state_dict`` with ``ctx`` ([16, W] shared context tokens, fp16 under the
  default ``PREC fp16``; [6, 16, W] with class-specific contexts), ``token_prefix`` (the [SOS] embeddings, [6, 1, W])
  and ``token_suffix`` (the embeddings of ``{level} . [EOS]`` and padding, [6, 77-17, W]);
- ``regression/model.pth.tar-N``: ``state_dict`` of ``Sequential(Dropout, Linear(7D, 512), ReLU, Dropout,
  Linear(512, 1))``, i.e. keys ``1.weight``, ``1.bias``, ``4.weight``, ``4.bias``;

and both also hold ``epoch``, ``optimizer``, ``scheduler`` and ``val_result``. The level prompts are
``[SOS] ctx x16 {level} . [EOS]`` (``class_token_position end``, the official command's), run through CLIP's
frozen text tower with EOS pooling and the text projection: six constant vectors, stored in the bundle's head
with the regression layers (``1.*`` -> ``fc1``, ``4.*`` -> ``fc2``).

Loading: ``torch.load(weights_only=True)`` is tried first. Dassl's scheduler state pickles a live
``CosineAnnealingLR`` (the warm-up scheduler's successor) holding the ``SGD`` optimizer, which that loader
refuses; the checkpoint is then read by an unpickler that resolves only the globals PyTorch's weights-only
loader allows (tensors, storages, dtypes) and turns every other global into inert data, so nothing named by
the file is imported or called. Only the ``state_dict`` entries are used.
"""
from __future__ import annotations

import os
import pickle
import re
import types

import torch
from transformers import CLIPTokenizer

from . import LEVEL_WORDS
from .head import ClipAgiqaHead
from .onnx_export import TextTower

CHECKPOINT = re.compile(r"^model\.pth\.tar-(\d+)$")
BEST = "model-best.pth.tar"
PARTS = ("prompt_learner", "regression")
REGRESSION_KEYS = {"1.weight": "fc1.weight", "1.bias": "fc1.bias", "4.weight": "fc2.weight", "4.bias": "fc2.bias"}
CONTEXT_WORD = "X"  # CoOp's placeholder for randomly initialised context tokens


class OfficialCheckpointError(ValueError):
    pass


class _Inert(dict):
    """Stands in for any global the file names outside the allowlist: keeps its arguments and state as data."""

    pickled_global = ""

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.args = args

    def __setstate__(self, state):
        self.state = state


def _allowed_globals() -> dict[str, object]:
    from torch import _weights_only_unpickler

    return _weights_only_unpickler._get_allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        qualified = f"{module}.{name}"
        allowed = _allowed_globals()
        if qualified in allowed:
            return allowed[qualified]
        return type(name, (_Inert,), {"pickled_global": qualified})


_restricted_pickle = types.SimpleNamespace(Unpickler=_RestrictedUnpickler, load=lambda f, **kw: _RestrictedUnpickler(f, **kw).load(),
                                           __name__="clip_agiqa_restricted_pickle")


def read_dassl_checkpoint(path: str) -> dict:
    """The checkpoint dict, loaded without importing or calling anything the file names beyond tensor rebuilding."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle)
        except Exception as e:  # noqa: BLE001 - any failure here means the file is not a readable checkpoint
            raise OfficialCheckpointError(f"{path}: not a readable PyTorch checkpoint ({e})") from e
    except Exception as e:  # noqa: BLE001
        raise OfficialCheckpointError(f"{path}: not a readable PyTorch checkpoint ({e})") from e
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        raise OfficialCheckpointError(f"{path}: not a Dassl checkpoint (no state_dict)")
    return obj


def checkpoint_files(folder: str, epoch: int | None) -> tuple[dict[str, str], str]:
    """The prompt_learner and regression files of one saved epoch: --epoch N, else model-best, else the last epoch."""
    for part in PARTS:
        if not os.path.isdir(os.path.join(folder, part)):
            raise OfficialCheckpointError(f"{folder}: no {part}/ folder; pass the output folder of the official training run")
    if epoch is not None:
        name = f"model.pth.tar-{epoch}"
    elif all(os.path.exists(os.path.join(folder, p, BEST)) for p in PARTS):
        name = BEST
    else:
        epochs = sorted(int(m.group(1)) for f in os.listdir(os.path.join(folder, "regression")) if (m := CHECKPOINT.match(f)))
        if not epochs:
            raise OfficialCheckpointError(f"{folder}/regression: no model.pth.tar-N or {BEST}")
        name = f"model.pth.tar-{epochs[-1]}"
    files = {p: os.path.join(folder, p, name) for p in PARTS}
    for path in files.values():
        if not os.path.exists(path):
            raise OfficialCheckpointError(f"{path}: missing (both parts of a saved epoch are needed)")
    return files, name


def prompt_token_ids(tokenizer_dir: str, n_ctx: int, context_length: int) -> torch.Tensor:
    """CoOp's prompts, '"X " * n_ctx + "{level}."', as clip.tokenize encodes them (zero-padded): [6, context_length]."""
    tok = CLIPTokenizer.from_pretrained(tokenizer_dir)
    prompts = [" ".join([CONTEXT_WORD] * n_ctx) + f" {level}." for level in LEVEL_WORDS]
    rows = tok(prompts)["input_ids"]
    if max(len(r) for r in rows) > context_length:
        raise OfficialCheckpointError(f"{n_ctx} context tokens and a level word exceed the text tower's {context_length} positions")
    return torch.tensor([r + [0] * (context_length - len(r)) for r in rows])


def _require_finite(name: str, tensor: torch.Tensor) -> None:
    """A NaN or Inf in a learned tensor makes every image score alike (the head's ReLU maps NaN to 0): refuse it."""
    bad = ~torch.isfinite(tensor.float())
    if bool(bad.any()):
        first = int(bad.flatten().nonzero()[0])
        raise OfficialCheckpointError(f"{name} holds {tensor.flatten()[first].item()} at index {first} of {tensor.numel()} "
                                      f"({int(bad.sum())} non-finite values): the checkpoint is damaged or training diverged")


def _check_fixed_tokens(name: str, stored: torch.Tensor, computed: torch.Tensor) -> None:
    if tuple(stored.shape) != tuple(computed.shape):
        raise OfficialCheckpointError(f"prompt_learner {name} is {list(stored.shape)}, the CLIP weights and level prompts give "
                                      f"{list(computed.shape)}: is this checkpoint from a class-token position other than 'end', "
                                      "or from another CLIP?")
    diff = float((stored.float() - computed.to(stored.dtype).float()).abs().max())
    if diff > 1e-3:
        raise OfficialCheckpointError(f"prompt_learner {name} differs from the token embeddings of the CLIP weights given (max |diff| "
                                      f"{diff:.3g}): import with the CLIP checkpoint the model was trained on (ViT-B/16 for the official configs)")


def level_text_features(model, tokenizer_dir: str, prompt_state: dict) -> torch.Tensor:
    """The six level-prompt features: the text tower over [SOS] ctx {level} . [EOS], EOS-pooled and projected."""
    ctx = prompt_state.get("ctx")
    if not isinstance(ctx, torch.Tensor) or ctx.dim() not in (2, 3):
        raise OfficialCheckpointError("prompt_learner state_dict has no ctx tensor [n_ctx, width] (or [6, n_ctx, width])")
    _require_finite("prompt_learner ctx", ctx)
    n_ctx, width = ctx.shape[-2], ctx.shape[-1]
    embedding = model.text_model.embeddings.token_embedding
    if width != embedding.embedding_dim:
        raise OfficialCheckpointError(f"ctx is {width} wide, the CLIP text tower {embedding.embedding_dim}: import with the CLIP the model was trained on")
    if ctx.dim() == 3 and ctx.shape[0] != len(LEVEL_WORDS):
        raise OfficialCheckpointError(f"class-specific ctx has {ctx.shape[0]} classes, expected {len(LEVEL_WORDS)}")
    ids = prompt_token_ids(tokenizer_dir, n_ctx, model.config.text_config.max_position_embeddings)
    with torch.no_grad():
        tokens = embedding(ids)
    for name, computed in (("token_prefix", tokens[:, :1]), ("token_suffix", tokens[:, 1 + n_ctx:])):
        if name in prompt_state:
            _check_fixed_tokens(name, prompt_state[name], computed)
    context = ctx.float().expand(len(LEVEL_WORDS), -1, -1) if ctx.dim() == 2 else ctx.float()

    def put_context(_module, _inputs, output):
        output = output.clone()
        output[:, 1:1 + n_ctx] = context
        return output

    handle = embedding.register_forward_hook(put_context)
    try:
        with torch.no_grad():
            features = TextTower(model)(ids)
    finally:
        handle.remove()
    _require_finite("the level-prompt text features", features)
    return features


def regression_head(state: dict, text_features: torch.Tensor) -> ClipAgiqaHead:
    missing = [k for k in REGRESSION_KEYS if not isinstance(state.get(k), torch.Tensor)]
    if missing:
        raise OfficialCheckpointError(f"regression state_dict lacks {', '.join(missing)} (expected Sequential(Dropout, Linear, ReLU, Dropout, Linear))")
    for theirs in REGRESSION_KEYS:
        _require_finite(f"regression {theirs}", state[theirs])
    embed_dim = text_features.shape[1]
    w1, w2 = state["1.weight"], state["4.weight"]
    expected_in = (len(LEVEL_WORDS) + 1) * embed_dim
    if w1.dim() != 2 or w1.shape[1] != expected_in or tuple(w2.shape) != (1, w1.shape[0]):
        raise OfficialCheckpointError(f"regression layers are {list(w1.shape)} and {list(w2.shape)}; a CLIP with embed dim {embed_dim} "
                                      f"needs [H, {expected_in}] and [1, H]")
    head = ClipAgiqaHead(embed_dim, text_features, hidden=w1.shape[0])
    head.load_state_dict({"text_features": text_features.float(),
                          **{ours: state[theirs].float() for theirs, ours in REGRESSION_KEYS.items()}})
    return head.eval()


def context_description(prompt_state: dict) -> str:
    """The level prompt as the manifest records it, with the run's own count of learned context tokens."""
    ctx = prompt_state["ctx"]
    per_level = " per level" if ctx.dim() == 3 else ""
    return f"<{ctx.shape[-2]} learned context tokens{per_level}> {{level}}."


def import_official(model, tokenizer_dir: str | None, folder: str, epoch: int | None) -> tuple[ClipAgiqaHead, dict, str]:
    """The trained head of an official training run, its provenance for the manifest, and its level prompt."""
    if tokenizer_dir is None:
        raise OfficialCheckpointError("the level prompts need CLIP's tokenizer: pass --tokenizer DIR (vocab.json + merges.txt)")
    files, name = checkpoint_files(folder, epoch)
    prompt = read_dassl_checkpoint(files["prompt_learner"])
    regression = read_dassl_checkpoint(files["regression"])
    text = level_text_features(model, tokenizer_dir, prompt["state_dict"])
    head = regression_head(regression["state_dict"], text)
    trained_on = {"dataset": "unspecified", "source": "official CLIP-AGIQA code (github.com/wzczc/CLIP-AGIQA)",
                  "checkpoint": name}
    if isinstance(regression.get("epoch"), int):
        trained_on["epochs"] = regression["epoch"]
    return head, trained_on, context_description(prompt["state_dict"])

"""Checks of the official-checkpoint import (tools/export --official); driven by test/official-import.parity.test.ts.

  python3 test/python/official_checks.py import WORKDIR     bundles of a synthetic official run + reference scores
  python3 test/python/official_checks.py refusals WORKDIR   the importer's messages for wrong inputs
  python3 test/python/official_checks.py inert WORKDIR      a checkpoint naming os.system loads without running it

The synthetic run has exactly the official layout: an OpenAI-layout CLIP state dict in fp16 (as OpenAI's
archives are), and Dassl checkpoints prompt_learner/model.pth.tar-N and regression/model.pth.tar-N with
state_dict, epoch, optimizer (SGD with momentum buffers), scheduler (Dassl's constant warm-up wrapping a
CosineAnnealingLR, as its state_dict() returns it) and val_result. The reference scores come from the official
forward written here from the OpenAI layout (nn.MultiheadAttention, QuickGELU, argmax EOS pooling), sharing no
code with the exporter. Each command prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
warnings.filterwarnings("ignore")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from torch import nn  # noqa: E402
from torch.optim.lr_scheduler import CosineAnnealingLR, _LRScheduler  # noqa: E402

from clip_agiqa_export.tiny import tiny_bpe, write_tokenizer  # noqa: E402

EXPORT = [sys.executable, os.path.join(ROOT, "tools", "export")]
LEVELS = ("terrible", "bad", "poor", "average", "good", "perfect")
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
N_CTX, CONTEXT = 16, 77
TEXT_WIDTH, TEXT_HEADS, EMBED = 512, 8, 512  # ViT-B/16's text tower width and embedding size
VISION_WIDTH, PATCH, GRID, LAYERS = 64, 32, 7, 2


# ---- the synthetic CLIP, in OpenAI's layout -------------------------------------------------------------------

def openai_clip(seed: int, vocab_size: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=None):
        fan_in = shape[-1] if len(shape) > 1 else shape[0]
        return torch.randn(shape, generator=gen) * (scale if scale is not None else fan_in ** -0.5)

    def blocks(prefix: str, width: int) -> dict:
        sd = {}
        for i in range(LAYERS):
            p = f"{prefix}transformer.resblocks.{i}."
            sd.update({
                p + "attn.in_proj_weight": rand(3 * width, width), p + "attn.in_proj_bias": rand(3 * width, scale=0.1),
                p + "attn.out_proj.weight": rand(width, width), p + "attn.out_proj.bias": rand(width, scale=0.1),
                p + "ln_1.weight": 1 + rand(width, scale=0.1), p + "ln_1.bias": rand(width, scale=0.1),
                p + "mlp.c_fc.weight": rand(4 * width, width), p + "mlp.c_fc.bias": rand(4 * width, scale=0.1),
                p + "mlp.c_proj.weight": rand(width, 4 * width), p + "mlp.c_proj.bias": rand(width, scale=0.1),
                p + "ln_2.weight": 1 + rand(width, scale=0.1), p + "ln_2.bias": rand(width, scale=0.1),
            })
        return sd

    sd = {
        "visual.class_embedding": rand(VISION_WIDTH, scale=1.0),
        "visual.positional_embedding": rand(GRID * GRID + 1, VISION_WIDTH, scale=0.1),
        "visual.proj": rand(VISION_WIDTH, EMBED),
        "visual.conv1.weight": rand(VISION_WIDTH, 3, PATCH, PATCH, scale=(3 * PATCH * PATCH) ** -0.5),
        "visual.ln_pre.weight": 1 + rand(VISION_WIDTH, scale=0.1), "visual.ln_pre.bias": rand(VISION_WIDTH, scale=0.1),
        "visual.ln_post.weight": 1 + rand(VISION_WIDTH, scale=0.1), "visual.ln_post.bias": rand(VISION_WIDTH, scale=0.1),
        "positional_embedding": rand(CONTEXT, TEXT_WIDTH, scale=0.1),
        "text_projection": rand(TEXT_WIDTH, EMBED),
        "token_embedding.weight": rand(vocab_size, TEXT_WIDTH, scale=1.0),
        "ln_final.weight": 1 + rand(TEXT_WIDTH, scale=0.1), "ln_final.bias": rand(TEXT_WIDTH, scale=0.1),
        "logit_scale": torch.tensor(4.6052),
        **blocks("visual.", VISION_WIDTH), **blocks("", TEXT_WIDTH),
    }
    return {k: v.half() for k, v in sd.items()}  # OpenAI's archives hold fp16 weights


def prompt_ids(vocab: dict[str, int], n_ctx: int = N_CTX) -> torch.Tensor:
    """clip.tokenize('X X ... X {level}.') built by hand: [SOS] x*n_ctx level . [EOS], zero-padded."""
    sos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    rows = []
    for level in LEVELS:
        ids = [sos] + [vocab["x</w>"]] * n_ctx + [vocab[f"{level}</w>"], vocab[".</w>"], eos]
        rows.append(ids + [0] * (CONTEXT - len(ids)))
    return torch.tensor(rows)


# ---- the official forward (CLIP-AGIQA's CustomCLIP in fp32), from the OpenAI layout ------------------------------

def transformer(x: torch.Tensor, sd: dict, prefix: str, heads: int, mask: torch.Tensor | None) -> torch.Tensor:
    width = x.shape[-1]
    for i in range(LAYERS):
        p = f"{prefix}transformer.resblocks.{i}."
        attn = nn.MultiheadAttention(width, heads)
        attn.in_proj_weight.data, attn.in_proj_bias.data = sd[p + "attn.in_proj_weight"], sd[p + "attn.in_proj_bias"]
        attn.out_proj.weight.data, attn.out_proj.bias.data = sd[p + "attn.out_proj.weight"], sd[p + "attn.out_proj.bias"]
        h = F.layer_norm(x, (width,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        x = x + attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        h = F.layer_norm(x, (width,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = F.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        x = x + F.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
    return x


def encode_image(sd: dict, pixels: torch.Tensor) -> torch.Tensor:
    x = F.conv2d(pixels, sd["visual.conv1.weight"], stride=PATCH).flatten(2).permute(0, 2, 1)
    cls = sd["visual.class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + sd["visual.positional_embedding"]
    x = F.layer_norm(x, (VISION_WIDTH,), sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"])
    x = transformer(x.permute(1, 0, 2), sd, "visual.", VISION_WIDTH // 64, None).permute(1, 0, 2)
    return F.layer_norm(x[:, 0], (VISION_WIDTH,), sd["visual.ln_post.weight"], sd["visual.ln_post.bias"]) @ sd["visual.proj"]


def encode_prompts(sd: dict, prompt_state: dict, ids: torch.Tensor) -> torch.Tensor:
    ctx = prompt_state["ctx"].float().unsqueeze(0).expand(len(LEVELS), -1, -1)
    x = torch.cat([prompt_state["token_prefix"].float(), ctx, prompt_state["token_suffix"].float()], dim=1)
    x = x + sd["positional_embedding"]
    mask = torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1)
    x = transformer(x.permute(1, 0, 2), sd, "", TEXT_HEADS, mask).permute(1, 0, 2)
    x = F.layer_norm(x, (TEXT_WIDTH,), sd["ln_final.weight"], sd["ln_final.bias"])
    return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ sd["text_projection"]


def regression_module() -> nn.Sequential:
    return nn.Sequential(nn.Dropout(), nn.Linear(EMBED * 7, 512), nn.ReLU(True), nn.Dropout(), nn.Linear(512, 1))


def official_scores(sd: dict, prompt_state: dict, regression_state: dict, ids: torch.Tensor, pixels: torch.Tensor) -> list[float]:
    sd = {k: v.float() for k, v in sd.items()}
    with torch.no_grad():
        image = encode_image(sd, pixels)
        text = encode_prompts(sd, prompt_state, ids)
        image = image / image.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        regression = regression_module().eval()
        regression.load_state_dict(regression_state)
        return [float(regression(torch.cat([f[None], text], dim=0).flatten())) for f in image]


# ---- a synthetic official training run --------------------------------------------------------------------------

class ConstantWarmupScheduler(_LRScheduler):
    """Dassl's constant warm-up scheduler (dassl/optim/lr_scheduler.py): its state_dict() pickles the successor."""

    def __init__(self, optimizer, successor, warmup_epoch, cons_lr):
        self.successor, self.warmup_epoch, self.cons_lr = successor, warmup_epoch, cons_lr
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch >= self.warmup_epoch:
            return self.successor.get_last_lr()
        return [self.cons_lr for _ in self.base_lrs]

    def step(self, epoch=None):
        if self.last_epoch >= self.warmup_epoch:
            self.successor.step(epoch)
            self._last_lr = self.successor.get_last_lr()
        else:
            super().step(epoch)


class PromptLearner(nn.Module):
    def __init__(self, ctx: torch.Tensor, prefix: torch.Tensor, suffix: torch.Tensor):
        super().__init__()
        self.ctx = nn.Parameter(ctx)
        self.register_buffer("token_prefix", prefix)
        self.register_buffer("token_suffix", suffix)


def save_dassl(module: nn.Module, folder: str, epoch: int, seed: int) -> None:
    """Trainer.save_model + save_checkpoint as Dassl writes them, after two SGD steps (momentum buffers exist)."""
    optim = torch.optim.SGD([p for p in module.parameters()], lr=0.002, momentum=0.9, weight_decay=5e-4)
    sched = ConstantWarmupScheduler(optim, CosineAnnealingLR(optim, 100), 1, 1e-5)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(2):
        for p in module.parameters():
            p.grad = torch.randn(p.shape, generator=gen).to(p.dtype) * 1e-3
        optim.step()
        sched.step()
    os.makedirs(folder, exist_ok=True)
    state = {"state_dict": OrderedDict(module.state_dict()), "epoch": epoch, "optimizer": optim.state_dict(),
             "scheduler": sched.state_dict(), "val_result": None}
    torch.save(state, os.path.join(folder, f"model.pth.tar-{epoch}"))


def official_run(sd: dict, ids: torch.Tensor, run: str, epochs=(50, 100), n_ctx: int = N_CTX) -> None:
    embedding = sd["token_embedding.weight"]  # fp16, as the official trainer's CLIP under PREC fp16
    tokens = embedding[ids]
    for i, epoch in enumerate(epochs):
        gen = torch.Generator().manual_seed(100 + i)
        ctx = (torch.randn(n_ctx, TEXT_WIDTH, generator=gen) * 0.5).half()
        learner = PromptLearner(ctx, tokens[:, :1].clone(), tokens[:, 1 + n_ctx:].clone())
        torch.manual_seed(200 + i)
        regression = regression_module()
        with torch.no_grad():
            regression[4].weight.mul_(20)
            regression[4].bias.fill_(2.5)
        save_dassl(learner, os.path.join(run, "prompt_learner"), epoch, 300 + i)
        save_dassl(regression, os.path.join(run, "regression"), epoch, 400 + i)


def synthetic(work: str) -> tuple[dict, str, str, torch.Tensor]:
    vocab, merges = tiny_bpe()
    sd = openai_clip(7, len(vocab))
    clip_file = os.path.join(work, "ViT-synthetic.pt")
    torch.save(sd, clip_file)
    tok = os.path.join(work, "tokenizer")
    write_tokenizer(tok, vocab, merges)
    ids = prompt_ids(vocab)
    run = os.path.join(work, "run")
    official_run(sd, ids, run)
    return sd, clip_file, tok, ids


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(EXPORT + list(args), capture_output=True, text=True)


def pixels_of_goldens() -> tuple[list[str], torch.Tensor]:
    pixels = load_file(os.path.join(ROOT, "test", "fixtures", "goldens", "pixels.safetensors"))
    names = sorted(pixels)
    x = torch.stack([torch.from_numpy(pixels[n]).permute(2, 0, 1).float() / 255 for n in names])
    return names, (x - MEAN) / STD


def import_run(work: str) -> dict:
    sd, clip_file, tok, ids = synthetic(work)
    names, pixels = pixels_of_goldens()
    out = {}
    for label, extra in (("last", []), ("epoch50", ["--official-epoch", "50", "--no-text"])):
        bundle = os.path.join(work, f"bundle-{label}")
        r = export("--checkpoint", clip_file, "--tokenizer", tok, "--official", os.path.join(work, "run"), *extra,
                   "--official-dataset", "AGIQA-3K", "--out", bundle)
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        epoch = 50 if "--official-epoch" in extra else 100
        prompt = torch.load(os.path.join(work, "run", "prompt_learner", f"model.pth.tar-{epoch}"), weights_only=False)
        regression = torch.load(os.path.join(work, "run", "regression", f"model.pth.tar-{epoch}"), weights_only=False)
        scores = official_scores(sd, prompt["state_dict"], regression["state_dict"], ids, pixels)
        no_ctx = official_scores(sd, {**prompt["state_dict"], "ctx": torch.zeros_like(prompt["state_dict"]["ctx"])},
                                 regression["state_dict"], ids, pixels)
        out[label] = {"bundle": bundle, "scores": dict(zip(names, scores)), "stderr": r.stderr,
                      "ctx_effect": max(abs(a - b) for a, b in zip(scores, no_ctx)),
                      "ctx_dtype": str(prompt["state_dict"]["ctx"].dtype), "ctx_shape": list(prompt["state_dict"]["ctx"].shape),
                      "regression_keys": sorted(regression["state_dict"]),
                      "manifest": json.load(open(os.path.join(bundle, "manifest.json")))}
    return out


def refusals(work: str) -> dict:
    _, _, tok, _ = synthetic(work)
    vocab, _ = tiny_bpe()
    other = os.path.join(work, "other-clip.pt")
    torch.save(openai_clip(8, len(vocab)), other)
    empty = os.path.join(work, "empty-run")
    os.makedirs(os.path.join(empty, "prompt_learner"))
    os.makedirs(os.path.join(empty, "regression"))
    cases = {
        "other_clip": ["--checkpoint", other, "--tokenizer", tok, "--official", os.path.join(work, "run")],
        "no_checkpoints": ["--checkpoint", other, "--tokenizer", tok, "--official", empty],
        "missing_epoch": ["--checkpoint", other, "--tokenizer", tok, "--official", os.path.join(work, "run"), "--official-epoch", "7"],
        "not_a_run": ["--checkpoint", other, "--tokenizer", tok, "--official", work],
    }
    out = {}
    for name, args in cases.items():
        r = export(*args, "--out", os.path.join(work, f"bundle-{name}"))
        out[name] = {"status": r.returncode, "message": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""}
    return out


def damage(path: str, key: str, value: float) -> None:
    """Writes one non-finite value into a tensor of a Dassl checkpoint, as a diverged or damaged run leaves it."""
    ckpt = torch.load(path, weights_only=False)
    ckpt["state_dict"][key].view(-1)[3] = value
    torch.save(ckpt, path)


def variants(work: str) -> dict:
    """Runs with a NaN context vector, an infinite regression bias, and 8 context tokens instead of 16."""
    sd, clip_file, tok, ids = synthetic(work)
    out = {}
    for name, part, key, value in (("nan_ctx", "prompt_learner", "ctx", float("nan")), ("inf_bias", "regression", "1.bias", float("inf"))):
        run = os.path.join(work, f"run-{name}")
        shutil.copytree(os.path.join(work, "run"), run)
        damage(os.path.join(run, part, "model.pth.tar-100"), key, value)
        r = export("--checkpoint", clip_file, "--tokenizer", tok, "--official", run, "--out", os.path.join(work, f"bundle-{name}"))
        out[name] = {"status": r.returncode, "message": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""}
    vocab, _ = tiny_bpe()
    run8 = os.path.join(work, "run-8")
    official_run(sd, prompt_ids(vocab, 8), run8, n_ctx=8)
    bundle = os.path.join(work, "bundle-8")
    r = export("--checkpoint", clip_file, "--tokenizer", tok, "--official", run8, "--out", bundle)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    out["ctx8"] = {"manifest": json.load(open(os.path.join(bundle, "manifest.json")))}
    return out


class RunsCommand:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def inert(work: str) -> dict:
    sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
    from clip_agiqa_export.official import read_dassl_checkpoint

    marker = os.path.join(work, "code-ran")
    path = os.path.join(work, "model.pth.tar-1")
    torch.save({"state_dict": OrderedDict(w=torch.ones(2)), "epoch": 1, "val_result": RunsCommand(marker)}, path)
    ckpt = read_dassl_checkpoint(path)
    return {"ran": os.path.exists(marker), "state_dict": {k: v.tolist() for k, v in ckpt["state_dict"].items()},
            "val_result": type(ckpt["val_result"]).__name__}


if __name__ == "__main__":
    command, work = sys.argv[1:]
    result = {"import": import_run, "refusals": refusals, "inert": inert, "variants": variants}[command](work)
    print(json.dumps(result))

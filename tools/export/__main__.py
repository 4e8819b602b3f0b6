"""clip-agiqa bundle exporter.

  python3 tools/export --checkpoint PATH --out DIR [--head FILE --head-name quality ...]
  python3 tools/export --tiny --seed 0 --out DIR [--goldens-images DIR --goldens-out DIR]
  python3 tools/export --checkpoint ViT-B-16.pt --tokenizer DIR --official RUN_DIR [--official-epoch N] --out DIR
  python3 tools/export --random vit-b-16 --seed 0 --layout transformers-js --precisions int8 --out DIR

RUN_DIR is the output folder of a training run of the official CLIP-AGIQA code (prompt_learner/ and
regression/ checkpoints); its head becomes the bundle's trained head.

PATH is a local Hugging Face CLIP folder or an OpenAI/OpenCLIP state dict. Every exported tower is run in
PyTorch and ONNX Runtime on the same inputs; the export fails if they differ by more than 1e-4.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import CLIPTokenizer  # noqa: E402

from clip_agiqa_export import LEVEL_WORDS  # noqa: E402
from clip_agiqa_export.bundle import head_entry, write_manifest  # noqa: E402
from clip_agiqa_export.checkpoint import load_checkpoint  # noqa: E402
from clip_agiqa_export.goldens import write_goldens  # noqa: E402
from clip_agiqa_export.head import ClipAgiqaHead  # noqa: E402
from clip_agiqa_export.official import OfficialCheckpointError, import_official  # noqa: E402
from clip_agiqa_export.onnx_export import (  # noqa: E402
    ImageTower, TextTower, export_image_tower, export_text_tower, verification_inputs_image,
    verification_inputs_text, verify,
)
from clip_agiqa_export.preprocess import normalise, preprocess_file  # noqa: E402
from clip_agiqa_export.goldens import golden_images  # noqa: E402
from clip_agiqa_export.precision import BATCH_TOLERANCE, METHODS, PRECISIONS, cosine_guard, make_variant  # noqa: E402
from clip_agiqa_export.tiny import RANDOM_ARCHS, tiny_bpe, write_tokenizer  # noqa: E402
from clip_agiqa_export.transformers_js import write_transformers_js  # noqa: E402

DEFAULT_PROMPT = "a photo of {level} quality."
UNTRAINED_GAIN = 40.0
UNTRAINED_NOTE = "UNTRAINED: random weights, its scores mean nothing."


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tools/export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="Hugging Face CLIP folder or OpenAI/OpenCLIP state dict")
    src.add_argument("--tiny", action="store_true", help="a tiny randomly initialised CLIP (tests and demos); = --random tiny")
    src.add_argument("--random", choices=sorted(RANDOM_ARCHS), help="a randomly initialised CLIP of this shape (tests, benchmarks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--layout", choices=["bundle", "transformers-js"], default="bundle",
                   help="bundle (default), or the transformers.js / Optimum ONNX folder layout that `clip-agiqa import` reads")
    p.add_argument("--act", default="quick_gelu", choices=["quick_gelu", "gelu"], help="activation of state-dict checkpoints (OpenAI: quick_gelu)")
    p.add_argument("--heads", nargs=2, type=int, metavar=("VISION", "TEXT"),
                   help="attention heads of state-dict checkpoints (default: width // 64, as OpenAI and OpenCLIP)")
    p.add_argument("--tokenizer", help="folder with CLIP's vocab.json + merges.txt, when the checkpoint has none")
    p.add_argument("--no-text", action="store_true", help="do not export the text tower")
    p.add_argument("--head", action="append", default=[], metavar="NAME=FILE[:TRAINING_JSON]",
                   help="a trained clip-agiqa-mlp head (safetensors); repeatable")
    p.add_argument("--official", metavar="RUN_DIR", help="import the head of a run of the official CLIP-AGIQA code "
                   "(RUN_DIR/prompt_learner/model.pth.tar-N, RUN_DIR/regression/model.pth.tar-N)")
    p.add_argument("--official-epoch", type=int, help="the saved epoch to import (default: model-best.pth.tar, else the last epoch)")
    p.add_argument("--official-dataset", default="unspecified", help="the dataset the official run trained on, for the manifest")
    p.add_argument("--official-head-name", default="quality", help="the bundle's name for the imported head")
    p.add_argument("--score-range", nargs=2, type=float, default=[0.0, 5.0], metavar=("LOW", "HIGH"))
    p.add_argument("--prompt", default=DEFAULT_PROMPT, help="template of the level prompts that initialise an untrained head")
    p.add_argument("--name", help="bundle name")
    p.add_argument("--license", default="MIT", help="licence of the weights")
    p.add_argument("--precisions", default="", help=f"comma-separated reduced-precision image towers to add: {', '.join(PRECISIONS)}")
    p.add_argument("--guard-images", help="folder of images for the reduced-precision accuracy guard (default: random inputs)")
    p.add_argument("--min-cosine", type=float, default=0.995, help="fail if a variant's embeddings fall below this cosine to fp32")
    p.add_argument("--save-torch", metavar="DIR", help="also save the PyTorch model (Hugging Face folder), e.g. for reference benchmarks")
    p.add_argument("--goldens-images", help="folder of images to compute reference outputs for")
    p.add_argument("--goldens-out", help="where to write pixels.safetensors and reference.json")
    return p.parse_args(argv)


def encode_prompts(model, tokenizer_dir: str, template: str) -> torch.Tensor:
    tok = CLIPTokenizer.from_pretrained(tokenizer_dir)
    ctx = model.config.text_config.max_position_embeddings
    ids = tok([template.format(level=w) for w in LEVEL_WORDS], padding="max_length", max_length=ctx, truncation=True,
              return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return TextTower(model)(ids)


def untrained_head(model, tokenizer_dir: str | None, template: str, seed: int, score_range) -> ClipAgiqaHead:
    if tokenizer_dir is None:
        raise SystemExit("an untrained head needs the level prompts encoded: pass --tokenizer DIR (vocab.json + merges.txt)")
    text = encode_prompts(model, tokenizer_dir, template)
    torch.manual_seed(seed)
    head = ClipAgiqaHead(model.config.projection_dim, text).eval()
    with torch.no_grad():
        # Centre the untrained output in the declared scale and widen its spread, so demo scores vary
        # visibly across images (they still mean nothing).
        head.fc2.bias.fill_((score_range[0] + score_range[1]) / 2)
        head.fc2.weight.mul_(UNTRAINED_GAIN)
    return head


def parse_head_arg(arg: str) -> tuple[str, str, dict | None]:
    name, _, rest = arg.partition("=")
    file, _, training = rest.partition(":")
    if not name or not file:
        raise SystemExit(f"--head expects NAME=FILE[:TRAINING_JSON], got {arg!r}")
    trained_on = json.load(open(training, encoding="utf-8")) if training else {"dataset": "unspecified"}
    return name, file, trained_on


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)  # bit-reproducible exports: reductions in one fixed order
    torch.use_deterministic_algorithms(True)
    out = os.path.abspath(args.out)
    scratch = tempfile.mkdtemp(prefix="clip-agiqa-export-")
    try:
        random_arch = "tiny" if args.tiny else args.random
        if random_arch:
            vocab, merges = tiny_bpe()
            tokenizer_dir = os.path.join(scratch, "tokenizer")
            write_tokenizer(tokenizer_dir, vocab, merges)
            model = RANDOM_ARCHS[random_arch](args.seed, len(vocab))
            flag = "--tiny" if args.tiny else f"--random {random_arch}"
            backbone = {"name": f"{random_arch}-clip-random-seed{args.seed}", "architecture": "clip-vit",
                        "source": f"tools/export {flag} --seed {args.seed}", "trained": False}
        else:
            model, tokenizer_dir = load_checkpoint(args.checkpoint, args.act, tuple(args.heads) if args.heads else None)
            tokenizer_dir = args.tokenizer or tokenizer_dir
            backbone = {"name": os.path.basename(os.path.normpath(args.checkpoint)), "architecture": "clip-vit",
                        "source": os.path.basename(args.checkpoint), "trained": True}
        official = None
        if args.official:  # before any export: a wrong checkpoint fails at once
            if random_arch:
                raise SystemExit("--official needs the CLIP weights the run trained on: pass --checkpoint")
            try:
                official = import_official(model, tokenizer_dir, args.official, args.official_epoch)
            except OfficialCheckpointError as e:
                raise SystemExit(f"--official: {e}") from None
            print(f"imported the official head from {official[1]['checkpoint']}", file=sys.stderr)
        if args.layout == "transformers-js":
            if not tokenizer_dir:
                raise SystemExit("the transformers.js layout needs a tokenizer: pass --tokenizer DIR")
            write_transformers_js(model, tokenizer_dir, out, [p for p in args.precisions.split(",") if p], args.seed)
            if args.save_torch:
                model.save_pretrained(args.save_torch)
            print(f"wrote {out}", file=sys.stderr)
            return 0
        os.makedirs(os.path.join(out, "heads"), exist_ok=True)
        vc = model.config.vision_config
        size = vc.image_size
        backbone.update(embed_dim=model.config.projection_dim, image_size=size, patch_size=vc.patch_size,
                        width=vc.hidden_size, layers=vc.num_hidden_layers)

        golden_tensors = []
        if args.goldens_images:
            golden_tensors = [normalise(np.stack([preprocess_file(os.path.join(args.goldens_images, n), size)
                                                  for n in golden_images(args.goldens_images)]))]
        image_tower = ImageTower(model).eval()
        export_image_tower(model, os.path.join(out, "image_encoder.onnx"))
        worst = verify(image_tower, os.path.join(out, "image_encoder.onnx"), verification_inputs_image(size, args.seed, golden_tensors))
        print(f"image tower: ONNX Runtime vs PyTorch max |diff| = {worst:.2e}", file=sys.stderr)

        variants = {}
        guard_inputs = golden_tensors or verification_inputs_image(size, args.seed)
        if args.guard_images:
            names = golden_images(args.guard_images)
            guard_inputs = [normalise(np.stack([preprocess_file(os.path.join(args.guard_images, n), size) for n in names[i:i + 16]]))
                            for i in range(0, len(names), 16)]
        for precision in [p for p in args.precisions.split(",") if p]:
            file = f"image_encoder.{precision}.onnx"
            make_variant(precision, os.path.join(out, "image_encoder.onnx"), os.path.join(out, file))
            guard = cosine_guard(os.path.join(out, "image_encoder.onnx"), os.path.join(out, file), guard_inputs)
            guard["inputs"] = "images" if (args.guard_images or golden_tensors) else "random normal"
            guard["method"] = METHODS[precision]
            print(f"{precision} tower: cosine to fp32 min {guard['min_cosine']:.5f} mean {guard['mean_cosine']:.5f}; "
                  f"alone vs in a batch max |diff| {guard['max_batch_diff']:.1e}", file=sys.stderr)
            if guard["min_cosine"] < args.min_cosine:
                raise SystemExit(f"{precision} tower falls to cosine {guard['min_cosine']:.4f} < {args.min_cosine}")
            if guard["max_batch_diff"] > BATCH_TOLERANCE:
                raise SystemExit(f"{precision} tower gives an image a different embedding in a batch than alone "
                                 f"({guard['max_batch_diff']:.2g} > {BATCH_TOLERANCE:g})")
            variants[precision] = {"file": file, "guard": guard}

        text_encoder = None
        if tokenizer_dir and not args.no_text:
            export_text_tower(model, os.path.join(out, "text_encoder.onnx"))
            tc = model.config.text_config
            worst = verify(TextTower(model), os.path.join(out, "text_encoder.onnx"),
                           verification_inputs_text(tc.vocab_size, tc.max_position_embeddings, args.seed))
            print(f"text tower: ONNX Runtime vs PyTorch max |diff| = {worst:.2e}", file=sys.stderr)
            os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
            for f in ("vocab.json", "merges.txt"):
                shutil.copyfile(os.path.join(tokenizer_dir, f), os.path.join(out, "tokenizer", f))
            text_encoder = {"file": "text_encoder.onnx", "input": "input_ids", "output": "text_embeds",
                            "context_length": tc.max_position_embeddings,
                            "tokenizer": {"kind": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt"}}

        heads: dict[str, ClipAgiqaHead] = {}
        entries = []
        for arg in args.head:
            name, file, trained_on = parse_head_arg(arg)
            heads[name] = ClipAgiqaHead.load(file)
            shutil.copyfile(file, os.path.join(out, "heads", f"{name}.safetensors"))
            entries.append(head_entry(name, f"heads/{name}.safetensors", trained_on, args.score_range, args.prompt))
        if official is not None:
            name = args.official_head_name
            heads[name], trained_on, level_prompt = official
            trained_on["dataset"] = args.official_dataset
            heads[name].save(os.path.join(out, "heads", f"{name}.safetensors"))
            entries.append(head_entry(name, f"heads/{name}.safetensors", trained_on, args.score_range, level_prompt))
        if not heads:
            heads["quality"] = untrained_head(model, tokenizer_dir, args.prompt, args.seed, args.score_range)
            heads["quality"].save(os.path.join(out, "heads", "quality.safetensors"))
            entries.append(head_entry("quality", "heads/quality.safetensors", None, args.score_range, args.prompt))
        for name, head in heads.items():
            if head.text_features.shape[1] != model.config.projection_dim:
                raise SystemExit(f"head {name} expects embed dim {head.text_features.shape[1]}, the tower gives {model.config.projection_dim}")

        name = args.name or (f"clip-agiqa-{random_arch}-untrained" if random_arch else f"clip-agiqa-{backbone['name']}")
        if random_arch:
            description = f"CLIP-AGIQA bundle. {UNTRAINED_NOTE}"
        elif any(not e["trained"] for e in entries):
            description = "CLIP-AGIQA bundle. UNTRAINED head: random weights, its scores mean nothing until it is trained."
        else:
            description = "CLIP-AGIQA bundle"
        write_manifest(out, name=name, description=description, licence=args.license, backbone=backbone, size=size,
                       text_encoder=text_encoder, heads=entries, variants=variants)
        if args.save_torch:
            model.save_pretrained(args.save_torch)
            if tokenizer_dir:
                for f in ("vocab.json", "merges.txt"):
                    shutil.copyfile(os.path.join(tokenizer_dir, f), os.path.join(args.save_torch, f))
        if args.goldens_out:
            if not args.goldens_images:
                raise SystemExit("--goldens-out needs --goldens-images")
            write_goldens(image_tower, {n: h.eval() for n, h in heads.items()}, size, args.goldens_images, args.goldens_out)
        print(f"wrote {out}", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Learns a small CLIP-format BPE vocabulary from a corpus and tokenizes test strings with transformers'
CLIPTokenizer, the reference the TypeScript tokenizer is checked against.

  python3 test/python/bpe_reference.py OUT_DIR < {"corpus": [...], "tests": [...], "merges": N}
Prints {"ids": [[...], ...]} (start and end tokens included).
"""
import json
import os
import re
import sys
import warnings
from collections import Counter

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools", "export"))

from clip_agiqa_export.tiny import bytes_to_unicode, write_tokenizer  # noqa: E402


def learn(corpus: list[str], n_merges: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    enc = bytes_to_unicode()
    words: Counter = Counter()
    for text in corpus:
        for tok in re.findall(r"[^\W\d_]+|\d|[^\s\w]+", text.lower()):
            chars = [enc[b] for b in tok.encode("utf-8")]
            words[tuple(chars[:-1]) + (chars[-1] + "</w>",)] += 1
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        merged: Counter = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    chars = list(enc.values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(dict.fromkeys(tokens))}, merges


if __name__ == "__main__":
    from transformers import CLIPTokenizer

    job = json.loads(sys.stdin.read())
    vocab, merges = learn(job["corpus"], job["merges"])
    write_tokenizer(sys.argv[1], vocab, merges)
    tok = CLIPTokenizer.from_pretrained(sys.argv[1])
    print(json.dumps({"ids": [tok(t)["input_ids"] for t in job["tests"]]}))

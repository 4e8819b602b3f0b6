"""The node pack's prompt input, outside ComfyUI, against a real clip-agiqa bridge serving a model with a text tower.

Run by test/comfyui-node-prompts.parity.test.ts, which starts the bridge and passes CLIP_AGIQA_BRIDGE_URL,
CLIP_AGIQA_BRIDGE_TOKEN, PROMPT and PROMPT_CASES (a JSON list of [png path, expected quality, expected clipscore
against PROMPT]).
"""
import asyncio
import json
import os
import sys
import unittest

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
import comfyui_nodes  # noqa: E402
from comfyui_nodes import nodes  # noqa: E402

CASES = json.loads(os.environ["PROMPT_CASES"])
PROMPT = os.environ["PROMPT"]
NODES = comfyui_nodes.NODE_CLASS_MAPPINGS.values()


def run(coro):
    return asyncio.run(coro)


class PromptInputTest(unittest.TestCase):
    def setUp(self):
        arrays = [np.array(Image.open(path).convert("RGB")).astype(np.float32) / 255.0 for path, _, _ in CASES]
        self.images = torch.from_numpy(np.stack(arrays))
        self.quality = [q for _, q, _ in CASES]
        self.clipscore = [c for _, _, c in CASES]

    def test_every_node_takes_an_optional_multiline_prompt_after_its_older_inputs(self):
        for cls in NODES:
            spec = cls.INPUT_TYPES()
            kind, options = spec["optional"]["prompt"]
            self.assertEqual(kind, "STRING")
            self.assertTrue(options["multiline"])
            self.assertEqual(options["default"], "")
            self.assertFalse(options["dynamicPrompts"], "the frontend must not expand {a|b} in a prompt as generated")
            self.assertNotIn("prompt", spec["required"])
            # Saved workflows list widget values by position: the new widget comes after every older one.
            self.assertEqual(list(spec["optional"])[-4:], ["head", "bridge_url", "timeout", "prompt"])

    def test_score_reports_the_prompt_heads_and_decides_by_clipscore_when_asked(self):
        out = run(nodes.CLIPAGIQAScore().run(self.images, prompt=PROMPT))
        scores, text = out["result"]
        for got, want in zip(scores, self.quality):
            self.assertAlmostEqual(got, want, places=6)
        self.assertTrue(text.startswith(f"prompt: {PROMPT}\n"), text)
        for i, want in enumerate(self.clipscore):
            self.assertIn(f"#{i}: quality {self.quality[i]:.3f}, clipscore {want:.3f}", text)
        by_clipscore, _ = run(nodes.CLIPAGIQAScore().run(self.images, head="clipscore", prompt=PROMPT))["result"]
        for got, want in zip(by_clipscore, self.clipscore):
            self.assertAlmostEqual(got, want, places=6)

    def test_without_a_prompt_only_quality_is_scored_as_before(self):
        for prompt in ({}, {"prompt": ""}, {"prompt": "  \n "}):
            scores, text = run(nodes.CLIPAGIQAScore().run(self.images, **prompt))["result"]
            self.assertNotIn("clipscore", text)
            self.assertNotIn("prompt:", text)
            for got, want in zip(scores, self.quality):
                self.assertAlmostEqual(got, want, places=6)

    def test_best_of_n_and_the_gate_decide_by_clipscore(self):
        order = sorted(range(len(CASES)), key=lambda i: -self.clipscore[i])
        best, scores, _, _ = run(nodes.CLIPAGIQABestOfN().run(self.images, 2, head="clipscore", prompt=PROMPT))["result"]
        self.assertTrue(torch.equal(best, self.images[order[:2]]))
        for got, i in zip(scores, order[:2]):
            self.assertAlmostEqual(got, self.clipscore[i], places=6)
        bar = (self.clipscore[order[0]] + self.clipscore[order[1]]) / 2
        passed, rejected, gate_scores, _, _ = run(nodes.CLIPAGIQAQualityGate().run(
            self.images, bar, "absolute", "empty", head="clipscore", prompt=PROMPT))["result"]
        self.assertTrue(torch.equal(passed, self.images[order[:1]]))
        self.assertEqual(rejected.shape[0], len(CASES) - 1)
        self.assertEqual(len(gate_scores), len(CASES))

    def test_deciding_by_clipscore_without_a_prompt_says_why(self):
        with self.assertRaisesRegex(RuntimeError, "PROMPT_REQUIRED"):
            run(nodes.CLIPAGIQABestOfN().run(self.images, 1, head="clipscore"))

    def test_a_prompt_over_the_protocol_limit_is_sent_cut_and_scores_as_the_whole(self):
        from comfyui_nodes.bridge_client import MAX_PROMPT_CHARS
        huge = PROMPT + ", " + "x" * (MAX_PROMPT_CHARS + 50)
        scores, text = run(nodes.CLIPAGIQAScore().run(self.images[:1], head="clipscore", prompt=huge))["result"]
        whole, _ = run(nodes.CLIPAGIQAScore().run(self.images[:1], head="clipscore", prompt=huge[:2000]))["result"]
        self.assertAlmostEqual(scores[0], whole[0], places=6)

    def test_a_long_prompt_is_cut_in_the_report_but_scored_whole(self):
        long = PROMPT + ", " + "highly detailed " * 40
        text = run(nodes.CLIPAGIQAScore().run(self.images[:1], prompt=long))["result"][1]
        first = text.splitlines()[0]
        self.assertEqual(len(first), len("prompt: ") + nodes.PROMPT_SHOWN)
        self.assertTrue(first.endswith("…"))
        self.assertIn("clipscore", text)


if __name__ == "__main__":
    unittest.main()

"""Unit tests of the ComfyUI node pack outside ComfyUI, against a real clip-agiqa bridge.

Run by test/comfyui-nodes.test.ts, which starts the bridge and passes CLIP_AGIQA_BRIDGE_URL,
CLIP_AGIQA_BRIDGE_TOKEN and TEST_IMAGES (a JSON list of [png path, expected quality score]);
HIGHER_IS_BETTER=0 when the bridge's model scores with a head where lower is better.
"""
import asyncio
import json
import math
import os
import socket
import sys
import threading
import time
import unittest

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
import comfyui_nodes  # noqa: E402
from comfyui_nodes import logic, nodes  # noqa: E402
from comfyui_nodes.bridge_client import BridgeError, BridgeSettings, BridgeUnavailable, score_images  # noqa: E402

CASES = json.loads(os.environ["TEST_IMAGES"])
HIGHER_IS_BETTER = os.environ.get("HIGHER_IS_BETTER", "1") == "1"


def load_batch() -> torch.Tensor:
    """The test images as ComfyUI's LoadImage makes them (float32 / 255), at one size so they batch."""
    arrays = [np.array(Image.open(path).convert("RGB")).astype(np.float32) / 255.0 for path, _ in CASES]
    return torch.from_numpy(np.stack(arrays))


def markers(batch: int):
    latent = {"samples": torch.arange(batch, dtype=torch.float32).reshape(batch, 1, 1, 1).expand(batch, 4, 8, 8).clone()}
    mask = torch.arange(batch, dtype=torch.float32).reshape(batch, 1, 1).expand(batch, 64, 64).clone()
    return latent, mask


def run(coro):
    return asyncio.run(coro)


class NodePackTest(unittest.TestCase):
    def setUp(self):
        self.images = load_batch()
        self.expected = [score for _, score in CASES]
        self.order = sorted(range(len(CASES)), key=lambda i: -self.expected[i] if HIGHER_IS_BETTER else self.expected[i])
        # Bars no image reaches, and that every image reaches, on the head's side of better.
        self.unreachable = max(self.expected) + 1 if HIGHER_IS_BETTER else min(self.expected) - 1
        self.reached_by_all = min(self.expected) - 1 if HIGHER_IS_BETTER else max(self.expected) + 1

    def test_conventions(self):
        self.assertEqual(set(comfyui_nodes.NODE_CLASS_MAPPINGS), set(comfyui_nodes.NODE_DISPLAY_NAME_MAPPINGS))
        for name, cls in comfyui_nodes.NODE_CLASS_MAPPINGS.items():
            self.assertTrue(name.startswith("CLIPAGIQA"))
            spec = cls.INPUT_TYPES()
            self.assertEqual(spec["required"]["images"], ("IMAGE",))
            self.assertEqual(len(cls.RETURN_TYPES), len(cls.RETURN_NAMES))
            self.assertEqual(len(cls.RETURN_TYPES), len(cls.OUTPUT_IS_LIST))
            self.assertTrue(asyncio.iscoroutinefunction(getattr(cls, cls.FUNCTION)))
            self.assertIn("CLIP-AGIQA", cls.CATEGORY)

    def test_quantises_like_save_image(self):
        raw = logic.to_rgb_bytes(self.images)
        for (path, _), (data, w, h) in zip(CASES, raw):
            self.assertEqual(data, np.array(Image.open(path).convert("RGB")).tobytes())
        grey = logic.to_rgb_bytes(torch.rand(1, 5, 7, 1))[0]
        self.assertEqual((grey[1], grey[2], len(grey[0])), (7, 5, 7 * 5 * 3))

    def test_score_node_matches_the_scorer(self):
        node = nodes.CLIPAGIQAScore()
        out = run(node.run(self.images))
        scores, text = out["result"]
        for got, want in zip(scores, self.expected):
            self.assertAlmostEqual(got, want, places=6)
        self.assertEqual(out["ui"]["text"], [text])
        self.assertEqual(vars(node), {}, "nodes keep no state")

    def test_gate_keeps_latent_and_mask_aligned(self):
        latent, mask = markers(len(CASES))
        bar = (self.expected[self.order[1]] + self.expected[self.order[2]]) / 2
        passed, rejected, scores, passed_latent, passed_mask = run(nodes.CLIPAGIQAQualityGate().run(
            self.images, bar, "absolute", "block", latent=latent, mask=mask))["result"]
        keep = sorted(self.order[:2])
        self.assertTrue(torch.equal(passed, self.images[keep]))
        self.assertEqual(rejected.shape[0], len(CASES) - 2)
        self.assertEqual(passed_latent["samples"][:, 0, 0, 0].tolist(), [float(i) for i in keep])
        self.assertEqual(passed_mask[:, 0, 0].tolist(), [float(i) for i in keep])
        self.assertEqual(len(scores), len(CASES))

    def test_gate_percentile_and_input_validation(self):
        passed = run(nodes.CLIPAGIQAQualityGate().run(self.images, 50.0, "percentile", "empty"))["result"][0]
        self.assertEqual(passed.shape[0], math.ceil(len(CASES) / 2))
        self.assertIsInstance(nodes.CLIPAGIQAQualityGate.VALIDATE_INPUTS("percentile", 120.0), str)
        self.assertIs(nodes.CLIPAGIQAQualityGate.VALIDATE_INPUTS("absolute", 120.0), True)
        self.assertIsInstance(nodes.CLIPAGIQABestOfN.VALIDATE_INPUTS(0), str)

    def test_gate_when_none_pass(self):
        high = self.unreachable
        empty = run(nodes.CLIPAGIQAQualityGate().run(self.images, high, "absolute", "empty"))["result"]
        self.assertEqual(empty[0].shape[0], 0)
        with self.assertRaisesRegex(RuntimeError, "none of"):
            run(nodes.CLIPAGIQAQualityGate().run(self.images, high, "absolute", "error"))
        sentinel = object()
        original = nodes._execution_blocker
        nodes._execution_blocker = lambda: sentinel
        try:
            blocked = run(nodes.CLIPAGIQAQualityGate().run(self.images, high, "absolute", "block"))["result"]
        finally:
            nodes._execution_blocker = original
        self.assertIs(blocked[0], sentinel)
        self.assertIs(blocked[3], sentinel)
        self.assertEqual(blocked[1].shape[0], len(CASES), "the rejected branch still runs")

    def test_an_empty_rejected_branch_is_blocked(self):
        sentinel = object()
        original = nodes._execution_blocker
        nodes._execution_blocker = lambda: sentinel
        try:
            out = run(nodes.CLIPAGIQAQualityGate().run(self.images, self.reached_by_all, "absolute", "block"))["result"]
        finally:
            nodes._execution_blocker = original
        self.assertEqual(out[0].shape[0], len(CASES))
        self.assertIs(out[1], sentinel)

    def test_best_of_n_in_score_order(self):
        latent, mask = markers(len(CASES))
        best, scores, best_latent, best_mask = run(nodes.CLIPAGIQABestOfN().run(self.images, 3, latent=latent, mask=mask))["result"]
        top = self.order[:3]
        self.assertTrue(torch.equal(best, self.images[top]))
        self.assertEqual(best_latent["samples"][:, 0, 0, 0].tolist(), [float(i) for i in top])
        self.assertEqual(best_mask[:, 0, 0].tolist(), [float(i) for i in top])
        for got, i in zip(scores, top):
            self.assertAlmostEqual(got, self.expected[i], places=6)

    def test_is_changed_follows_the_bridge_address(self):
        a = nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url="ws://a:1")
        self.assertEqual(a, nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url="ws://a:1"))
        self.assertNotEqual(a, nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url="ws://b:1"))

    def test_wrong_token_is_a_clear_error(self):
        with self.assertRaisesRegex(BridgeError, "UNAUTHORIZED"):
            run(nodes.CLIPAGIQAScore().run(self.images[:1], token="wrong-token"))

    def test_a_down_bridge_fails_after_capped_backoff_not_a_tight_loop(self):
        # A TCP server that accepts and hangs up: every websocket handshake fails; count the attempts.
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        attempts = []

        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                attempts.append(time.monotonic())
                conn.close()
        threading.Thread(target=serve, daemon=True).start()
        settings = BridgeSettings(url=f"ws://127.0.0.1:{server.getsockname()[1]}", token="", timeout=20, connect_attempts=4, backoff=0.1, backoff_cap=0.3)
        started = time.monotonic()
        with self.assertRaisesRegex(BridgeUnavailable, "cannot reach the CLIP-AGIQA bridge"):
            run(score_images(logic.to_rgb_bytes(self.images[:1]), {"mode": "score"}, settings))
        server.close()
        # Four handshakes, each of which aiohttp may retry once on a fresh connection: bounded either way.
        self.assertTrue(4 <= len(attempts) <= 8, f"{len(attempts)} connections")
        self.assertGreaterEqual(time.monotonic() - started, 0.1 + 0.2 + 0.3 - 0.05)

    def test_an_unanswering_bridge_times_out(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts the TCP connection, never answers the handshake
        settings = BridgeSettings(url=f"ws://127.0.0.1:{server.getsockname()[1]}", token="", timeout=1.0)
        started = time.monotonic()
        with self.assertRaises(BridgeUnavailable):
            run(score_images(logic.to_rgb_bytes(self.images[:1]), {"mode": "score"}, settings))
        self.assertLess(time.monotonic() - started, 5)
        server.close()


if __name__ == "__main__":
    unittest.main()

"""Unit tests of the ComfyUI node pack outside ComfyUI, against a real clip-agiqa bridge.

Run by test/comfyui-nodes.parity.test.ts, which starts the bridge and passes CLIP_AGIQA_BRIDGE_URL,
CLIP_AGIQA_BRIDGE_TOKEN, TEST_IMAGES (a JSON list of [png path, expected quality score]),
SMALL_BRIDGE_URL (a bridge taking at most 2 images per request) and MODEL_DIGEST (the model's manifest sha256);
HIGHER_IS_BETTER=0 when the bridge's model scores with a head where lower is better.
"""
import asyncio
import contextlib
import json
import math
import os
import socket
import sys
import threading
import time
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
import comfyui_nodes  # noqa: E402
from comfyui_nodes import logic, nodes  # noqa: E402
from comfyui_nodes.bridge_client import BridgeError, BridgeSettings, BridgeUnavailable, resolve_settings, score_images  # noqa: E402

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


@contextlib.asynccontextmanager
async def scripted_bridge(after_welcome):
    """A loopback websocket server that answers the hello with a welcome (one quality head, higher is better),
    then hands the connection to after_welcome(ws, request); yields its ws:// URL."""
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # hello
        await ws.send_str(json.dumps({"type": "welcome", "protocol": 1, "server": "x",
                                      "model": {"name": "m", "untrained": False, "heads": [{"name": "quality", "score_range": [0, 5], "higher_is_better": True}]},
                                      "limits": {"max_images": 256, "max_image_bytes": 1 << 26}}))
        await after_welcome(ws, request)
        return ws
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


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
        nodes._execution_blocker = lambda message=None: sentinel
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
        nodes._execution_blocker = lambda message=None: sentinel
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

    def test_cache_key_is_the_bridge_address_and_its_model_digest(self):
        url = os.environ["CLIP_AGIQA_BRIDGE_URL"]
        key = nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url=url)
        self.assertEqual(key, f"{url}#{os.environ['MODEL_DIGEST']}", "a bridge restarted with another model changes the key")
        self.assertEqual(key, nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url=url))
        self.assertNotEqual(key, nodes.CLIPAGIQAScore.IS_CHANGED(bridge_url="ws://127.0.0.1:9"))

    def test_the_token_is_never_an_input_and_comes_from_the_environment_or_a_config_file(self):
        for cls in comfyui_nodes.NODE_CLASS_MAPPINGS.values():
            spec = cls.INPUT_TYPES()
            self.assertNotIn("token", {**spec["required"], **spec.get("optional", {})})
        with mock.patch.dict(os.environ, {"CLIP_AGIQA_BRIDGE_TOKEN": "wrong-token"}):
            with self.assertRaisesRegex(BridgeError, "UNAUTHORIZED"):
                run(nodes.CLIPAGIQAScore().run(self.images[:1]))
        token = os.environ["CLIP_AGIQA_BRIDGE_TOKEN"]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "comfyui.json")
            with open(path, "w") as f:
                json.dump({"token": token}, f)
            env = {k: v for k, v in os.environ.items() if k != "CLIP_AGIQA_BRIDGE_TOKEN"}
            with mock.patch.dict(os.environ, {**env, "CLIP_AGIQA_CONFIG": path}, clear=True):
                self.assertEqual(resolve_settings().token, token)
                scores = run(nodes.CLIPAGIQAScore().run(self.images[:1]))["result"][0]
                self.assertAlmostEqual(scores[0], self.expected[0], places=6)

    def test_score_is_an_output_node(self):
        self.assertTrue(nodes.CLIPAGIQAScore.OUTPUT_NODE)

    def test_batches_over_the_bridge_limit_are_split_and_merged_in_order(self):
        small = os.environ["SMALL_BRIDGE_URL"]
        scores = run(nodes.CLIPAGIQAScore().run(self.images, bridge_url=small))["result"][0]
        for got, want in zip(scores, self.expected, strict=True):
            self.assertAlmostEqual(got, want, places=6)
        latent, mask = markers(len(CASES))
        one = run(nodes.CLIPAGIQABestOfN().run(self.images, 3, latent=latent, mask=mask))["result"]
        split = run(nodes.CLIPAGIQABestOfN().run(self.images, 3, latent=latent, mask=mask, bridge_url=small))["result"]
        self.assertTrue(torch.equal(one[0], split[0]))
        self.assertEqual(one[2]["samples"][:, 0, 0, 0].tolist(), split[2]["samples"][:, 0, 0, 0].tolist())
        for mode, threshold in (("percentile", 50.0), ("percentile", 90.0), ("absolute", self.expected[self.order[2]])):
            a = run(nodes.CLIPAGIQAQualityGate().run(self.images, threshold, mode, "empty"))["result"]
            b = run(nodes.CLIPAGIQAQualityGate().run(self.images, threshold, mode, "empty", bridge_url=small))["result"]
            self.assertTrue(torch.equal(a[0], b[0]), f"{mode} {threshold}")
        many = self.images.repeat(3, 1, 1, 1)  # 15 images: 8 requests of at most 2
        scores = run(nodes.CLIPAGIQAScore().run(many, bridge_url=small))["result"][0]
        self.assertEqual(len(scores), 15)
        for k, got in enumerate(scores):
            self.assertAlmostEqual(got, self.expected[k % len(CASES)], places=6)

    def test_empty_batches_pass_through_without_calling_the_bridge(self):
        empty = self.images[:0]
        down = "ws://127.0.0.1:9"  # nothing listens: any call would fail
        scores, text = run(nodes.CLIPAGIQAScore().run(empty, bridge_url=down))["result"]
        self.assertEqual((scores, text), ([], "empty batch: nothing to score"))
        passed = run(nodes.CLIPAGIQAQualityGate().run(empty, 3.0, "absolute", "empty", bridge_url=down))["result"][0]
        self.assertEqual(passed.shape[0], 0)
        with self.assertRaisesRegex(RuntimeError, "none of 0 images"):
            run(nodes.CLIPAGIQAQualityGate().run(empty, 3.0, "absolute", "error", bridge_url=down))
        latent, mask = markers(0)
        best, best_scores, best_latent, best_mask = run(nodes.CLIPAGIQABestOfN().run(empty, 2, latent=latent, mask=mask, bridge_url=down))["result"]
        self.assertEqual((best.shape[0], best_scores, best_latent["samples"].shape[0], best_mask.shape[0]), (0, [], 0, 0))

    def test_oversize_images_are_downscaled_before_sending_within_tolerance(self):
        big = torch.nn.functional.interpolate(self.images.permute(0, 3, 1, 2), size=(1536, 2048), mode="bicubic").clamp(0, 1).permute(0, 2, 3, 1)
        sent = logic.to_rgb_bytes(big)
        self.assertEqual((sent[0][1], sent[0][2]), (683, 512))
        self.assertEqual(len(sent[0][0]), 683 * 512 * 3)
        full = [(d, w, h) for d, w, h in logic.to_rgb_bytes(big, max_short_side=None)]
        settings = resolve_settings()
        at_full = run(score_images(full, {"mode": "score"}, settings))
        scores = run(nodes.CLIPAGIQAScore().run(big))["result"][0]
        for got, want in zip(scores, logic.head_scores(at_full, "quality"), strict=True):
            self.assertLess(abs(got - want), 0.005)

    def test_unconnected_optional_outputs_fail_with_a_message_downstream(self):
        blocked = []
        original = nodes._execution_blocker
        nodes._execution_blocker = lambda message=None: blocked.append(message) or ("blocked", message)
        try:
            out = run(nodes.CLIPAGIQAQualityGate().run(self.images, self.reached_by_all, "absolute", "block"))["result"]
            best = run(nodes.CLIPAGIQABestOfN().run(self.images, 2))["result"]
        finally:
            nodes._execution_blocker = original
        self.assertRegex(out[3][1], "passed_latent output is used downstream, but nothing is connected to its latent input")
        self.assertRegex(out[4][1], "passed_mask")
        self.assertRegex(best[2][1], "CLIP-AGIQA Best of N: the best_latent output")
        self.assertRegex(best[3][1], "best_mask")

    def test_bridge_urls_are_checked_before_any_connection(self):
        self.assertRegex(nodes.CLIPAGIQAScore.VALIDATE_INPUTS(bridge_url="localhost:8790"), r"did you mean ws://localhost:8790")
        self.assertRegex(nodes.CLIPAGIQAQualityGate.VALIDATE_INPUTS("absolute", 3.0, bridge_url="http://h:1"), "not a websocket address")
        self.assertRegex(nodes.CLIPAGIQABestOfN.VALIDATE_INPUTS(1, bridge_url="ws://h:port"), "invalid port")
        self.assertIs(nodes.CLIPAGIQAScore.VALIDATE_INPUTS(bridge_url="wss://bridge.example:443"), True)
        with self.assertRaisesRegex(ValueError, "not a websocket address"):
            run(nodes.CLIPAGIQAScore().run(self.images[:1], bridge_url="127.0.0.1:8790"))

    def test_a_lost_connection_names_the_bridge(self):
        async def after_welcome(ws, request):
            request.transport.abort()  # the bridge process dies mid-request

        async def scenario():
            async with scripted_bridge(after_welcome) as url:
                await score_images(logic.to_rgb_bytes(self.images[:1]), {"mode": "score"}, BridgeSettings(url=url, token="", timeout=5))
        with self.assertRaisesRegex(BridgeUnavailable, r"bridge at ws://127\.0\.0\.1:\d+"):
            run(scenario())

    def test_the_gate_asks_for_a_filter_and_speaks_gate_to_an_older_bridge(self):
        modes = []

        async def scenario(older: bool):
            async def after_welcome(ws, request):
                while True:
                    request_msg = json.loads((await ws.receive()).data)
                    await ws.receive()  # the image frame
                    mode = request_msg["policy"]["mode"]
                    modes.append(mode)
                    if older and mode != "gate":  # what a bridge from before the shared policy answers
                        await ws.send_str(json.dumps({"type": "error", "id": request_msg["id"], "code": "SCHEMA_VIOLATION",
                                                      "message": "/policy/mode must be equal to one of the allowed values"}))
                        continue
                    await ws.send_str(json.dumps({"type": "result", "id": request_msg["id"], "scores": [{"index": 0, "scores": {"quality": 4.0}}],
                                                  "decision": {"head": "quality", "order": [0], "passed": [0], "rejected": [], "threshold": 3.0}}))
                    return
            async with scripted_bridge(after_welcome) as url:
                return await nodes.CLIPAGIQAQualityGate().run(self.images[:1], 3.0, "absolute", "error", bridge_url=url)
        self.assertEqual(len(run(scenario(older=False))["result"][0]), 1)
        self.assertEqual(modes, ["filter"])
        modes.clear()
        self.assertEqual(len(run(scenario(older=True))["result"][0]), 1)
        self.assertEqual(modes, ["filter", "gate"])

    def test_batch_decisions_read_the_deprecated_gate_as_filter(self):
        model = {"heads": [{"name": "quality", "higher_is_better": HIGHER_IS_BETTER}]}
        scores = [{"index": i, "scores": {"quality": s}} for i, s in enumerate(self.expected)]
        bar = self.expected[self.order[1]]
        filtered = logic.decide({"mode": "filter", "threshold": bar}, scores, model)
        self.assertEqual(sorted(filtered["passed"]), sorted(self.order[:2]))
        self.assertEqual(logic.decide({"mode": "gate", "threshold": bar}, scores, model), filtered)

    def test_one_minimum_comfyui_version_checked_at_load(self):
        comfyui_nodes.check_comfyui_version("0.8.0")
        comfyui_nodes.check_comfyui_version(comfyui_nodes.MIN_COMFYUI)
        for old in ("0.3.40", None):
            with self.assertRaisesRegex(RuntimeError, f"needs ComfyUI {comfyui_nodes.MIN_COMFYUI} or later"):
                comfyui_nodes.check_comfyui_version(old)
        readme = open(os.path.join(os.path.dirname(comfyui_nodes.__file__), "README.md")).read()
        self.assertIn(f"ComfyUI {comfyui_nodes.MIN_COMFYUI} or later", readme)

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

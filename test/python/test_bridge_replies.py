"""Bridges that answer outside the protocol, and bridges that hang: what the nodes make of them.

Run by test/comfyui-bridge-replies.parity.test.ts. Each fake bridge is a loopback aiohttp server scripted to
answer one way; the good one answers every score request correctly (score 1.0 + index for each image).
"""
import asyncio
import contextlib
import json
import os
import sys
import time
import unittest

import torch
from aiohttp import web

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
from comfyui_nodes import multi_bridge, nodes, protocol  # noqa: E402
from comfyui_nodes.bridge_client import BridgeError, BridgeUnavailable  # noqa: E402

WELCOME = {"type": "welcome", "protocol": 1, "server": "fake",
           "model": {"name": "m", "untrained": False, "heads": [{"name": "quality", "score_range": [0, 5], "higher_is_better": True}]},
           "limits": {"max_images": 256, "max_image_bytes": 1 << 26}}


def good_result(request: dict) -> dict:
    n = len(request["images"])
    scores = [{"index": i, "scores": {"quality": 1.0 + i}} for i in range(n)]
    order = list(range(n - 1, -1, -1))
    return {"type": "result", "id": request["id"], "scores": scores, "decision": {"head": "quality", "order": order, "passed": list(range(n)), "rejected": []}}


@contextlib.asynccontextmanager
async def fake_bridge(welcome=WELCOME, answer=lambda request: [json.dumps(good_result(request))], hello_reply=None):
    """Yields (url, stats); answer(request) -> frames to send (str: text, bytes: binary, None: send nothing)."""
    stats = {"connections": 0, "requests": 0}

    async def handler(request):
        stats["connections"] += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # hello
        first = hello_reply if hello_reply is not None else json.dumps(welcome)
        await (ws.send_bytes(first) if isinstance(first, bytes) else ws.send_str(first))
        while True:
            msg = await ws.receive()
            if msg.type != web.WSMsgType.TEXT:
                break
            req = json.loads(msg.data)
            for _ in req["images"]:
                await ws.receive()
            stats["requests"] += 1
            for frame in answer(req):
                if frame is None:
                    await asyncio.sleep(3600)
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        return ws
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", stats
    finally:
        await runner.cleanup()


def batch(n: int) -> torch.Tensor:
    return torch.rand((n, 8, 8, 3), generator=torch.Generator().manual_seed(3))


def with_result(change):
    return lambda request: [json.dumps(change(good_result(request)))]


# Every way a reply can break the protocol, as (name, fake_bridge keyword arguments).
GARBAGE = [
    ("welcome not JSON", {"hello_reply": "<html>502 Bad Gateway</html>"}),
    ("welcome without max_image_bytes", {"welcome": {**WELCOME, "limits": {"max_images": 256}}}),
    ("welcome as a binary frame", {"hello_reply": b"\x00\x01"}),
    ("welcome of another protocol", {"welcome": {**WELCOME, "protocol": 2}}),
    ("result not JSON", {"answer": lambda request: ["{\"type\": \"result\", "]}),
    ("result with too few scores", {"answer": with_result(lambda r: {**r, "scores": r["scores"][:1]})}),
    ("result with no scores", {"answer": with_result(lambda r: {**r, "scores": [], "decision": {**r["decision"], "order": [], "passed": []}})}),
    ("result with indices outside the batch", {"answer": with_result(lambda r: {**r, "decision": {**r["decision"], "passed": [0, 7]}})}),
    ("result with a score that is not a number", {"answer": with_result(lambda r: {**r, "scores": [{"index": 0, "scores": {"quality": "high"}}] + r["scores"][1:]})}),
    ("result for another request", {"answer": with_result(lambda r: {**r, "id": "someone-else"})}),
    ("result without a decision", {"answer": with_result(lambda r: {k: v for k, v in r.items() if k != "decision"})}),
    ("an unknown message", {"answer": lambda request: [json.dumps({"type": "progress", "id": request["id"]})]}),
]


class GarbageRepliesTest(unittest.TestCase):
    def setUp(self):
        multi_bridge._resting_until.clear()

    def test_each_garbage_reply_is_a_bridge_unavailable_naming_the_url(self):
        for name, kwargs in GARBAGE:
            with self.subTest(name):
                async def scenario():
                    async with fake_bridge(**kwargs) as (url, _):
                        with self.assertRaises(BridgeUnavailable) as caught:
                            await nodes.CLIPAGIQAScore().run(batch(3), bridge_url=url, timeout=5)
                        return url, str(caught.exception)
                url, message = asyncio.run(scenario())
                self.assertIn(f"bridge at {url} sent a reply that breaks the bridge protocol", message)
                self.assertIn("clip-agiqa bridge", message, "says what to check")

    def test_each_garbage_reply_fails_over_to_the_next_bridge(self):
        for name, kwargs in GARBAGE:
            with self.subTest(name):
                multi_bridge._resting_until.clear()

                async def scenario():
                    async with fake_bridge(**kwargs) as (bad, bad_stats), fake_bridge() as (good, good_stats):
                        results = [await nodes.CLIPAGIQAScore().run(batch(3), bridge_url=f"{bad}, {good}", timeout=5) for _ in range(2)]
                        return results, bad_stats, good_stats
                results, bad_stats, good_stats = asyncio.run(scenario())
                for out in results:
                    self.assertEqual(out["result"][0], [1.0, 2.0, 3.0])
                self.assertEqual(good_stats["requests"], 2)
                self.assertLessEqual(bad_stats["connections"], 1, "the broken bridge rests after its failure")

    def test_a_gate_never_takes_a_short_result_for_an_empty_batch(self):
        async def scenario():
            async with fake_bridge(answer=with_result(lambda r: {**r, "scores": [], "decision": {**r["decision"], "order": [], "passed": []}})) as (url, _):
                await nodes.CLIPAGIQAQualityGate().run(batch(2), 0.5, "absolute", "block", bridge_url=url, timeout=5)
        with self.assertRaisesRegex(BridgeUnavailable, "answered 0 of 2 images"):
            asyncio.run(scenario())

    def test_the_schema_copy_checks_what_the_protocol_says(self):
        self.assertEqual(protocol.errors(WELCOME), [])
        self.assertEqual(protocol.errors(good_result({"id": "a", "images": [{}, {}]})), [])
        self.assertEqual(protocol.errors({"type": "error", "code": "X", "message": "m"}), [])
        self.assertIn("/limits/max_image_bytes is missing", protocol.errors({**WELCOME, "limits": {"max_images": 1}}))
        self.assertTrue(protocol.errors({"type": "busy", "id": "a", "retry_after_ms": -1}))
        self.assertTrue(protocol.errors([1, 2]))


class CircuitBreakerTest(unittest.TestCase):
    def setUp(self):
        multi_bridge._resting_until.clear()

    def test_a_hung_bridge_costs_one_timeout_not_one_every_other_batch(self):
        async def scenario():
            async with fake_bridge(answer=lambda request: [None]) as (hung, hung_stats), fake_bridge() as (good, good_stats):
                started = time.monotonic()
                for _ in range(6):
                    out = await nodes.CLIPAGIQAScore().run(batch(2), bridge_url=f"{hung}, {good}", timeout=1)
                    self.assertEqual(out["result"][0], [1.0, 2.0])
                return time.monotonic() - started, hung_stats, good_stats
        elapsed, hung_stats, good_stats = asyncio.run(scenario())
        self.assertEqual(hung_stats["requests"], 1, "the hung bridge is rested after its timeout")
        self.assertEqual(good_stats["requests"], 6)
        self.assertLess(elapsed, 2.5, f"six batches took {elapsed:.1f} s")

    def test_a_rested_bridge_is_tried_again_after_its_rest(self):
        async def scenario():
            async with fake_bridge(answer=lambda request: [None]) as (hung, hung_stats), fake_bridge() as (good, _):
                urls = f"{hung}, {good}"
                for _ in range(2):
                    await nodes.CLIPAGIQAScore().run(batch(1), bridge_url=urls, timeout=1)
                for url in list(multi_bridge._resting_until):
                    multi_bridge._resting_until[url] = time.monotonic() - 1  # the rest is over
                for _ in range(2):
                    await nodes.CLIPAGIQAScore().run(batch(1), bridge_url=urls, timeout=1)
                return hung_stats
        self.assertEqual(asyncio.run(scenario())["requests"], 2)

    def test_a_lone_bridge_is_never_rested(self):
        async def scenario():
            async with fake_bridge(hello_reply="garbage") as (url, stats):
                for _ in range(2):
                    with self.assertRaises(BridgeUnavailable):
                        await nodes.CLIPAGIQAScore().run(batch(1), bridge_url=url, timeout=2)
                return stats
        self.assertEqual(asyncio.run(scenario())["connections"], 2)


class AdviceTest(unittest.TestCase):
    """Errors the user can act on say what to do."""

    def test_a_refused_request_names_the_bridge_and_what_to_check(self):
        refusal = lambda request: [json.dumps({"type": "error", "id": request["id"], "code": "UNKNOWN_HEAD", "message": "the model has no head sharpness"})]

        async def scenario():
            async with fake_bridge(answer=refusal) as (url, _):
                with self.assertRaises(BridgeError) as caught:
                    await nodes.CLIPAGIQAScore().run(batch(1), head="sharpness", bridge_url=url, timeout=5)
                return url, str(caught.exception)
        url, message = asyncio.run(scenario())
        self.assertIn(f"[UNKNOWN_HEAD] the CLIP-AGIQA bridge at {url} refused the request: the model has no head sharpness", message)
        self.assertIn("clip-agiqa info --model", message)

    def test_a_gate_that_lets_nothing_through_says_what_to_change(self):
        none_pass = with_result(lambda r: {**r, "decision": {**r["decision"], "passed": [], "rejected": list(range(len(r["scores"]))), "threshold": 9.0}})

        async def scenario():
            async with fake_bridge(answer=none_pass) as (url, _):
                await nodes.CLIPAGIQAQualityGate().run(batch(2), 9.0, "absolute", "error", bridge_url=url, timeout=5)
        with self.assertRaisesRegex(RuntimeError, "none of 2 images reached 9.000 .*lower the threshold, use a percentile, or set when_none_pass"):
            asyncio.run(scenario())

    def test_a_mask_of_other_images_says_what_to_connect(self):
        async def scenario():
            async with fake_bridge() as (url, _):
                await nodes.CLIPAGIQABestOfN().run(batch(3), 1, mask=torch.zeros(2, 8, 8), bridge_url=url, timeout=5)
        with self.assertRaisesRegex(ValueError, r"MASK batch \(2\) does not match the IMAGE batch \(3\): connect the masks of these images"):
            asyncio.run(scenario())


class PercentileDirectionTest(unittest.TestCase):
    """A percentile bar is a percentile of the raw scores; the gate keeps the better side of it (as the README says)."""

    def test_the_better_side_of_the_bar_on_either_kind_of_head(self):
        from comfyui_nodes import logic
        scores = [{"index": i, "scores": {"h": float(i)}} for i in range(10)]  # 0..9
        up = logic.decide({"mode": "filter", "threshold": 80, "threshold_kind": "percentile"}, scores, {"heads": [{"name": "h", "higher_is_better": True}]})
        down = logic.decide({"mode": "filter", "threshold": 20, "threshold_kind": "percentile"}, scores, {"heads": [{"name": "h", "higher_is_better": False}]})
        self.assertEqual(up["passed"], [8, 9], "higher is better: 80 keeps about the top 20 %")
        self.assertEqual(down["passed"], [0, 1], "lower is better: 20 keeps about the best (lowest) 20 %")


class RefusedTokenTest(unittest.TestCase):
    def test_a_refused_token_names_the_bridge_and_how_to_set_the_token(self):
        refusal = json.dumps({"type": "error", "code": "UNAUTHORIZED", "message": "wrong or missing token"})

        async def scenario():
            async with fake_bridge(hello_reply=refusal) as (url, _):
                with self.assertRaises(BridgeError) as caught:
                    await nodes.CLIPAGIQAScore().run(batch(1), bridge_url=url, timeout=5)
                return url, str(caught.exception)
        url, message = asyncio.run(scenario())
        self.assertIn(f"[UNAUTHORIZED] the CLIP-AGIQA bridge at {url} refused the token", message)
        self.assertIn("CLIP_AGIQA_BRIDGE_TOKEN", message)
        self.assertIn("comfyui.json", message)


if __name__ == "__main__":
    unittest.main()

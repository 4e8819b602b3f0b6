"""The node pack with several bridges: batches spread over them, an unreachable one skipped.

Run by test/comfyui-multi-bridge.parity.test.ts, which starts two real bridges and passes BRIDGE_URLS (a
port nothing listens on, then the two bridges), CLIP_AGIQA_BRIDGE_TOKEN and DEAD_URLS (ports nothing
listens on).
"""
import asyncio
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
from comfyui_nodes import nodes  # noqa: E402
from comfyui_nodes.bridge_client import BridgeError, BridgeUnavailable  # noqa: E402
from comfyui_nodes.multi_bridge import bridge_urls  # noqa: E402

URLS = os.environ["BRIDGE_URLS"]
DEAD = os.environ["DEAD_URLS"]


def batch(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.rand((n, 32, 32, 3), generator=g)


class MultiBridgeTest(unittest.TestCase):
    def test_parses_a_list_of_bridges(self):
        self.assertEqual(bridge_urls(" ws://a:1, ws://b:2  ws://c:3,"), ["ws://a:1", "ws://b:2", "ws://c:3"])
        self.assertEqual(bridge_urls(""), ["ws://127.0.0.1:8790"])

    def test_every_batch_is_scored_though_one_bridge_is_down(self):
        images = batch(3)
        first = None
        for _ in range(6):
            out = asyncio.run(nodes.CLIPAGIQAScore().run(images, bridge_url=URLS))
            scores = out["result"][0]
            self.assertEqual(len(scores), 3)
            first = first or scores
            for a, b in zip(scores, first):
                self.assertAlmostEqual(a, b, places=5)  # the same model behind every bridge: the same scores
        print("six batches scored")

    def test_all_bridges_down_names_each(self):
        with self.assertRaisesRegex(BridgeUnavailable, r"none of the 2 CLIP-AGIQA bridges could score the batch: .*cannot reach.* \| .*cannot reach"):
            asyncio.run(nodes.CLIPAGIQAScore().run(batch(1), bridge_url=DEAD, timeout=20))

    def test_a_typed_error_is_not_retried_elsewhere(self):
        previous = os.environ.get("CLIP_AGIQA_BRIDGE_TOKEN")
        os.environ["CLIP_AGIQA_BRIDGE_TOKEN"] = "wrong-token"  # the token never travels as a node input
        try:
            with self.assertRaisesRegex(BridgeError, "UNAUTHORIZED"):
                asyncio.run(nodes.CLIPAGIQAScore().run(batch(1), bridge_url=URLS))
        finally:
            if previous is None:
                del os.environ["CLIP_AGIQA_BRIDGE_TOKEN"]
            else:
                os.environ["CLIP_AGIQA_BRIDGE_TOKEN"] = previous


if __name__ == "__main__":
    unittest.main()

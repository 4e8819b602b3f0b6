"""The node pack's batch re-decision against the golden policy table (test/fixtures/policy/table.json).

Run by test/policy-table.parity.test.ts. Every accepted case is decided by logic.decide on the table's scores exactly as
the table says. With WHOLE_BRIDGE_URL and SPLIT_BRIDGE_URL (a bridge taking at most 2 images per request, so a batch
is scored in parts and decided here) every case is also sent through both: a refused one is refused with the table's
code and message, an accepted one decided over the parts as the bridge decides the whole batch.
"""
import asyncio
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui"))
from comfyui_nodes import logic  # noqa: E402
from comfyui_nodes.bridge_client import BridgeError, BridgeSettings, score_images  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
with open(os.path.join(ROOT, "test", "fixtures", "policy", "table.json")) as f:
    TABLE = json.load(f)
MODEL = {"heads": TABLE["heads"]}
HEAD_NAMES = [h["name"] for h in TABLE["heads"]]


def table_scores() -> list[dict]:
    return [{"index": i, "error": {"code": "CORRUPT_IMAGE", "message": "not scored"}} if s is None
            else {"index": i, "scores": {h: v for h, v in zip(HEAD_NAMES, s) if v is not None}} for i, s in enumerate(TABLE["candidates"])]


def outcome(decision: dict) -> dict:
    out = {"order": decision["order"], "kept": sorted(decision["passed"])}
    if "threshold" in decision:
        out["threshold"] = decision["threshold"]
    return out


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=0, abs_tol=1e-12) if k == "threshold" else a[k] == b[k] for k in a)


def raw_images() -> list[tuple[bytes, int, int]]:
    """Six raw RGB images of different content; the fourth (index 3) is a byte short, so the bridge cannot score it."""
    out = []
    for k in range(6):
        data = bytes((i * (k + 3) * 7 + (i >> 6) * (k + 1) * 13) & 255 for i in range(32 * 32 * 3))
        out.append((data[:-1] if k == 3 else data, 32, 32))
    return out


class PolicyTableTest(unittest.TestCase):
    def test_every_accepted_case_is_decided_as_the_table_says(self):
        accepted = [c for c in TABLE["cases"] if "code" not in c]
        self.assertGreater(len(accepted), 15)
        for case in accepted:
            with self.subTest(case["name"]):
                decision = logic.decide(case["policy"], table_scores(), MODEL)
                expected = {"order": case["order"], "kept": case["kept"], **({"threshold": case["threshold"]} if "threshold" in case else {})}
                self.assertTrue(close(outcome(decision), expected), f"{outcome(decision)} != {expected}")
                if case["policy"]["mode"] in ("best-of", "best-of-n"):
                    self.assertEqual(decision["passed"], case["order"][:len(case["kept"])], "best-of lists its keepers best first")
                if "pick" in case:
                    self.assertEqual(next(i for i in decision["order"] if i in decision["passed"]), case["pick"], "the pick: the best that passes")

    @unittest.skipUnless(os.environ.get("SPLIT_BRIDGE_URL"), "needs the bridges test/policy-table.parity.test.ts starts")
    def test_a_batch_scored_in_parts_is_accepted_refused_and_decided_as_the_whole_batch(self):
        token = os.environ.get("CLIP_AGIQA_BRIDGE_TOKEN", "")
        whole = BridgeSettings(url=os.environ["WHOLE_BRIDGE_URL"], token=token)
        split = BridgeSettings(url=os.environ["SPLIT_BRIDGE_URL"], token=token)
        images = raw_images()
        for case in TABLE["cases"]:
            with self.subTest(case["name"]):
                if "code" in case:
                    with self.assertRaises(BridgeError) as refused:
                        asyncio.run(score_images(images, case["policy"], split))
                    self.assertEqual(refused.exception.code, case["code"])
                    if not case.get("schema"):
                        self.assertIn(f"refused the request: {case['message']}", str(refused.exception))
                    continue
                one = asyncio.run(score_images(images, case["policy"], whole))
                parts = asyncio.run(score_images(images, case["policy"], split))
                self.assertEqual([s["index"] for s in parts["scores"]], list(range(6)))
                self.assertIn("error", parts["scores"][3])
                self.assertTrue(close(outcome(parts["decision"]), outcome(one["decision"])), f"{parts['decision']} != {one['decision']}")
                self.assertEqual(parts["decision"]["passed"], one["decision"]["passed"], "the same order of keepers")


if __name__ == "__main__":
    unittest.main()

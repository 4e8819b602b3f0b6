"""The bridge the nodes start themselves, with the real CLI (run by test/comfyui-local-bridge.parity.test.ts,
which passes CLIP_AGIQA_CLI, the built CLI, and FREE_PORTS, loopback ports nothing listens on).

Each test runs ComfyUI's side in a child Python process, as ComfyUI is one: its exit must stop the bridge.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

PACK_PARENT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "comfyui")
PORTS = [int(p) for p in os.environ["FREE_PORTS"].split(",")]

# A ComfyUI session: node runs with nothing configured, the default address moved to a free port.
SESSION = """
import asyncio, json, os, sys, torch
sys.path.insert(0, sys.argv[1])
from comfyui_nodes import config, local_bridge, nodes
config.DEFAULT_URL = f"ws://127.0.0.1:{sys.argv[2]}"
images = torch.rand((2, 16, 16, 3), generator=torch.Generator().manual_seed(1))
pids, scores = [], []
for _ in range(int(sys.argv[3])):
    try:
        scores.append(asyncio.run(nodes.CLIPAGIQAScore().run(images))["result"][0])
    except Exception as e:
        print(json.dumps({"error": type(e).__name__, "message": str(e)}))
        sys.exit(0)
    pids.append(local_bridge.running().pid if local_bridge.running() else None)
print(json.dumps({"pids": pids, "scores": scores}), flush=True)
if len(sys.argv) > 4:  # stays up until killed
    import time
    time.sleep(3600)
"""


def session(port: int, runs: int, env: dict) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("CLIP_AGIQA_BRIDGE_URL", "CLIP_AGIQA_BRIDGE_TOKEN")}
    with tempfile.TemporaryDirectory() as d:
        base["CLIP_AGIQA_CONFIG"] = os.path.join(d, "none.json")
        r = subprocess.run([sys.executable, "-c", SESSION, PACK_PARENT, str(port), str(runs)], env={**base, **env},
                           capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    return {**json.loads(r.stdout.strip().splitlines()[-1]), "stderr": r.stderr}


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    """A process that runs (an exited one whose parent died may linger as a zombie until init reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class LocalBridgeTest(unittest.TestCase):
    def test_starts_a_bridge_reuses_it_and_stops_it_when_comfyui_exits(self):
        port = PORTS[0]
        out = session(port, 3, {})
        self.assertEqual(len(out["scores"]), 3)
        self.assertEqual(out["scores"][0], out["scores"][2])
        self.assertEqual(len(set(out["pids"])), 1, "one bridge for every run")
        self.assertIsNotNone(out["pids"][0])
        self.assertIn(f"started a local bridge (pid {out['pids'][0]}) at ws://127.0.0.1:{port}", out["stderr"])
        deadline = time.monotonic() + 10
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(listening(port), "the bridge stopped with the ComfyUI process")
        self.assertFalse(alive(out["pids"][0]))

    def test_the_bridge_stops_when_comfyui_is_killed(self):
        port = PORTS[1]
        env = {k: v for k, v in os.environ.items() if k not in ("CLIP_AGIQA_BRIDGE_URL", "CLIP_AGIQA_BRIDGE_TOKEN")}
        env["CLIP_AGIQA_CONFIG"] = os.path.join(tempfile.gettempdir(), "clip-agiqa-no-such-config.json")
        comfyui = subprocess.Popen([sys.executable, "-c", SESSION, PACK_PARENT, str(port), "1", "stay"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            pid = json.loads(comfyui.stdout.readline())["pids"][0]
            self.assertTrue(listening(port))
        finally:
            comfyui.kill()  # SIGKILL: no exit handler runs
            comfyui.wait()
        deadline = time.monotonic() + 15
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(listening(port), "the bridge stopped with the ComfyUI process")
        time.sleep(0.5)
        self.assertFalse(alive(pid))

    def test_a_missing_cli_says_the_one_command_that_fixes_it(self):
        out = session(PORTS[1], 1, {"CLIP_AGIQA_CLI": "", "PATH": os.path.dirname(os.environ["NODE"])})
        self.assertEqual(out["error"], "LocalBridgeError")
        self.assertIn("the clip-agiqa command is not installed", out["message"])
        self.assertIn("`npm install -g @clip-agiqa/cli`", out["message"])

    def test_missing_nodejs_says_what_to_install(self):
        with tempfile.TemporaryDirectory() as empty:
            out = session(PORTS[1], 1, {"PATH": empty})
        self.assertEqual(out["error"], "LocalBridgeError")
        self.assertIn("Node.js is not installed", out["message"])
        self.assertIn("20.9 or later", out["message"])

    def test_opting_out_leaves_the_bridge_to_the_user(self):
        out = session(PORTS[1], 1, {"CLIP_AGIQA_BRIDGE_AUTOSTART": "0"})
        self.assertEqual(out["error"], "BridgeUnavailable")
        self.assertIn(f"cannot reach the CLIP-AGIQA bridge at ws://127.0.0.1:{PORTS[1]}", out["message"])
        self.assertFalse(listening(PORTS[1]))


if __name__ == "__main__":
    unittest.main()

"""A local bridge started by the nodes themselves: with no bridge configured (no bridge_url input, no
CLIP_AGIQA_BRIDGE_URL, no bridge_url in the config file) and nothing listening at the default address,
the first node run starts `clip-agiqa bridge` there, later runs reuse it, and it stops when ComfyUI exits.

Opt out with CLIP_AGIQA_BRIDGE_AUTOSTART=0 (or "autostart": false in the config file). The bridge scores
with CLIP_AGIQA_MODEL (or "model" in the config file), else the CLI's untrained demo model, which the node
summaries flag. Its output goes to a log file named in the errors.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from . import config
from .bridge_client import BridgeUnavailable

MIN_NODE = (20, 9)
INSTALL_CLI = "npm install -g @clip-agiqa/cli"
START_TIMEOUT_S = 120.0

_process: subprocess.Popen | None = None
_lock = threading.Lock()  # node runs may overlap, and ComfyUI may run them on more than one event loop


class LocalBridgeError(BridgeUnavailable):
    """The nodes could not start a local bridge: why, and the one command that fixes it."""


def enabled() -> bool:
    env = os.environ.get("CLIP_AGIQA_BRIDGE_AUTOSTART")
    if env is not None:
        return env.strip().lower() not in ("0", "false", "no", "off")
    return config.read_config().get("autostart", True) is not False


def log_path(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"clip-agiqa-bridge-{port}.log"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _node_version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(x) for x in re.findall(r"\d+", out)[:2]) or None


def command(host: str, port: int) -> list[str]:
    """The command line of the bridge: the CLI named by CLIP_AGIQA_CLI, else `clip-agiqa` on the PATH, run by Node.js."""
    node = shutil.which("node")
    if node is None:
        raise LocalBridgeError("Node.js is not installed, and the CLIP-AGIQA bridge runs on it: install Node.js "
                               f"{MIN_NODE[0]}.{MIN_NODE[1]} or later (https://nodejs.org or your package manager), then `{INSTALL_CLI}`, "
                               "and restart ComfyUI")
    version = _node_version(node)
    if version is None or version < MIN_NODE:
        found = ".".join(map(str, version)) if version else "an unknown version"
        raise LocalBridgeError(f"Node.js at {node} is {found}; the CLIP-AGIQA bridge needs {MIN_NODE[0]}.{MIN_NODE[1]} or later: "
                               "update Node.js, then restart ComfyUI")
    cli = os.environ.get("CLIP_AGIQA_CLI") or shutil.which("clip-agiqa")
    if not cli:
        raise LocalBridgeError(f"the clip-agiqa command is not installed, and the nodes start their bridge with it: run `{INSTALL_CLI}` "
                               "and restart ComfyUI (or start a bridge yourself and set CLIP_AGIQA_BRIDGE_URL)")
    line = [node, cli] if cli.endswith((".js", ".mjs")) else [cli]
    # --stop-with-stdin: the bridge stops when this process ends, however it ends (its end of the pipe closes).
    line += ["bridge", "--host", host, "--port", str(port), "--stop-with-stdin"]
    model = os.environ.get("CLIP_AGIQA_MODEL") or config.read_config().get("model")
    return line + (["--model", str(model)] if model else [])


def _healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as r:  # noqa: S310 - loopback only
            return r.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _start(host: str, port: int) -> None:
    global _process
    line = command(host, port)
    log = log_path(port)
    with open(log, "ab") as out:
        _process = subprocess.Popen(line, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    print(f"[CLIP-AGIQA] started a local bridge (pid {_process.pid}) at ws://{host}:{port}; its log: {log}", file=sys.stderr)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(host, port):
        if _process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            _process = None
            raise LocalBridgeError(f"the local CLIP-AGIQA bridge exited at start ({' / '.join(tail) or 'no output'}); its log: {log}")
        if time.monotonic() > deadline:
            stop()
            raise LocalBridgeError(f"the local CLIP-AGIQA bridge did not answer within {START_TIMEOUT_S:g} s; its log: {log}")
        time.sleep(0.2)


def _ensure(host: str, port: int) -> None:
    with _lock:
        if not _listening(host, port):
            _start(host, port)


async def ensure(url: str) -> None:
    """Starts the local bridge at url (the default address) unless something listens there already or autostart is off."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8790
    if enabled() and not _listening(host, port):
        await asyncio.to_thread(_ensure, host, port)


def running() -> subprocess.Popen | None:
    """The bridge this process started, while it runs."""
    return _process if _process is not None and _process.poll() is None else None


@atexit.register
def stop() -> None:
    """Stops the bridge this process started (at ComfyUI's exit)."""
    global _process
    process, _process = _process, None
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

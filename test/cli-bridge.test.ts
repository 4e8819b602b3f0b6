import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';

import { WebSocket } from 'ws';

import { cli } from './support/cli-in-process.js';
import { startCli } from './support/cli-process.js';
import { closedPort } from './support/helpers.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace reached the user:\n${stderr}`);
/** The lines of stderr that are about the failure (the demo model's warning aside). */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l && !/UNTRAINED/.test(l));

describe('clip-agiqa bridge: where it cannot listen, and who it refuses', () => {
  it('a port in use: one line with the fix, no stack, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as { port: number };
    try {
      const r = await cli(['bridge', '--port', String(port)]);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(errorLines(r.stderr), [`clip-agiqa: [BRIDGE_LISTEN_FAILED] port ${port} on 127.0.0.1 is already in use (another clip-agiqa bridge, or another service): stop it, or pick a free port with --port and point the nodes at it (CLIP_AGIQA_BRIDGE_URL=ws://127.0.0.1:PORT)`]);
      noStack(r.stderr);
    } finally {
      busy.close();
    }
  });

  it('a host this machine does not have: one line naming it and what to use, exit 1', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: binding fails locally, nothing is sent anywhere.
    const r = await cli(['bridge', '--host', '192.0.2.1', '--port', String(await closedPort())]);
    assert.equal(r.status, 1, r.stderr);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /\[BRIDGE_LISTEN_FAILED\] cannot listen on 192\.0\.2\.1: no network interface of this machine has that address; use 127\.0\.0\.1/);
    noStack(r.stderr);
  });

  it('--port out of range is a usage error, exit 2', async () => {
    for (const port of ['70000', '-1', '80.5']) {
      const r = await cli(['bridge', `--port=${port}`]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--port must be a port number from 1 to 65535/);
      noStack(r.stderr);
    }
  });

  it('logs the clients it refuses for a wrong or missing token', async () => {
    const port = await closedPort();
    const bridge = startCli(['bridge', '--port', String(port), '--token', 'the-token']);
    try {
      await new Promise<void>((resolve) => bridge.child.stdout.once('data', () => resolve()));
      for (const token of [undefined, 'wrong']) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        await new Promise((r) => ws.once('open', r));
        ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'test-client', ...(token ? { token } : {}) }));
        await new Promise((r) => ws.once('close', r));
      }
      await bridge.stderrMatches(/refused a client: wrong token/);
      assert.match(bridge.stderr, /"msg":"refused a client: missing token","client":"test-client","address":"127\.0\.0\.1"/);
    } finally {
      bridge.child.kill('SIGTERM');
      await bridge.done;
    }
  });
});

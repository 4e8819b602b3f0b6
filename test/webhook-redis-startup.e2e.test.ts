// clip-agiqa serve at start with a Redis that is down, refuses its credentials or does not speak TLS:
// a clear message naming the address and the cause, a bounded wait, and SIGTERM honoured at every stage.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { CLI, tempDir } from './support/helpers.js';
import { freePort, RedisServer, redisUnavailable } from './support/redis-server.js';
import { CALLBACK_SECRET, TOKEN, until } from './support/webhook-helpers.js';

const skip = redisUnavailable() ?? false;

interface Run { child: ChildProcess; out: () => string; exit: Promise<{ code: number | null; atMs: number }> }

function serve(dir: string, url: string, extra: Record<string, unknown> = {}): Run {
  const file = join(dir, `serve-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ port: 0, data_dir: join(dir, 'data'), routes: [{ path: 'jobs', verifier: 'bearer', tokens: [TOKEN] }],
    callback: { secret: CALLBACK_SECRET }, limits: { shutdown_grace_ms: 1000 }, store: { kind: 'redis', url, connect_wait_s: 30, ...extra } }));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  const exit = new Promise<{ code: number | null; atMs: number }>((resolve) => child.once('exit', (code) => resolve({ code, atMs: Date.now() })));
  return { child, out: () => text, exit };
}

describe('redis at start', { skip }, () => {
  const runs: ChildProcess[] = [];
  after(() => runs.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));

  it('down: names the address and cause, /healthz answers and /readyz is 503 while it waits, SIGTERM ends it at once', async () => {
    using t = tempDir();
    const port = await freePort();
    const run = serve(t.dir, `redis://127.0.0.1:${port}/0`);
    runs.push(run.child);
    assert.ok(await until(() => /health on (http:\S+)/.test(run.out()), 20_000), run.out());
    assert.match(run.out(), new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port}/0: connection refused`));
    const health = /health on (http:\S+)/.exec(run.out())![1]!;
    assert.equal((await fetch(`${health}/healthz`)).status, 200);
    const ready = await fetch(`${health}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(await ready.json()), /connection refused/);
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const { atMs } = await run.exit;
    assert.ok(atMs - sent < 1000, `SIGTERM took ${atMs - sent} ms (grace 1000 ms)`);
  });

  it('down, then up: the replica serves once Redis is there', { timeout: 60_000 }, async () => {
    using t = tempDir();
    const port = await freePort();
    const run = serve(t.dir, `redis://127.0.0.1:${port}/0`);
    runs.push(run.child);
    assert.ok(await until(() => /retrying in/.test(run.out()), 20_000), run.out());
    await using redis = await RedisServer.start({ port });
    assert.ok(await until(() => /listening on (http:\S+)/.test(run.out()), 30_000), run.out());
    const url = /listening on (http:\S+)/.exec(run.out())![1]!;
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.ok(redis.running);
    run.child.kill('SIGTERM');
    assert.equal((await run.exit).code, 0);
  });

  it('down for longer than store.connect_wait_s: exits non-zero with the last cause', async () => {
    using t = tempDir();
    const port = await freePort();
    const run = serve(t.dir, `redis://127.0.0.1:${port}/0`, { connect_wait_s: 1 });
    runs.push(run.child);
    const { code } = await run.exit;
    assert.notEqual(code, 0);
    assert.match(run.out(), new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port}/0: connection refused`));
  });

  it('wrong or missing password, an ACL user without permission, TLS against plain Redis: exits non-zero at once with the cause, never the password', { timeout: 60_000 }, async () => {
    using t = tempDir();
    await using redis = await RedisServer.start({ args: ['--requirepass', 'the-right-password', '--user', 'limited', 'on', '>the-right-password', '-@all'] });
    const cases: [string, RegExp][] = [
      [`redis://:not-the-password@127.0.0.1:${redis.port}/0`, /authentication failed/],
      [`redis://127.0.0.1:${redis.port}/0`, /authentication failed.*NOAUTH/],
      [`redis://limited:the-right-password@127.0.0.1:${redis.port}/0`, /ACL user lacks a permission/],
      [`rediss://:the-right-password@127.0.0.1:${redis.port}/0`, /TLS mismatch/],
    ];
    for (const [url, cause] of cases) {
      const started = Date.now();
      const run = serve(t.dir, url);
      runs.push(run.child);
      const { code, atMs } = await run.exit;
      assert.notEqual(code, 0, run.out());
      assert.match(run.out(), new RegExp(`Redis at rediss?://(limited@)?127\\.0\\.0\\.1:${redis.port}/0`));
      assert.match(run.out(), cause);
      assert.doesNotMatch(run.out(), /not-the-password|the-right-password/);
      assert.ok(atMs - started < 15_000, `took ${atMs - started} ms`);
    }
  });
});

// The disk store under the faults a trusted store survives: SIGKILL while it writes and sweeps, a full disk.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DiskStore } from '@clip-agiqa/webhook';

import { ROOT, tempDir } from './support/helpers.js';
import { until } from './support/webhook-helpers.js';

const tsx = (script: string) => [process.execPath, '--import', 'tsx', join(ROOT, 'test/support', script)];

describe('disk store faults', () => {
  it('keeps every acknowledged write when SIGKILLed while writing and sweeping, and opens again', async () => {
    using t = tempDir();
    for (const killAfterMs of [0, 150, 700]) {
      const [node, ...args] = tsx('store-crash-run.ts');
      const child = spawn(node!, [...args, t.dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      assert.ok(await until(() => /ack open-3\n/.test(out), 30_000), 'the writer started');
      await new Promise((r) => setTimeout(r, killAfterMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const acked = [...out.matchAll(/^ack (\S+)$/gm)].map((m) => m[1]!);
      assert.ok(acked.length > 3, `only ${acked.length} writes before the kill`);
      const store = await DiskStore.open(t.dir, { retentionMs: 1000 });
      const open = new Set((await store.unfinished()).map((r) => r.id));
      for (const id of acked) assert.ok(open.has(id), `acknowledged job ${id} lost`);
      await store.close();
    }
  });

  it('refuses new jobs with 503 STORE_FULL and one log line when the disk is full, and loses none it accepted', { timeout: 120_000 }, () => {
    using t = tempDir();
    const data = join(t.dir, 'data');
    mkdirSync(data);
    // A private mount namespace gives the test a small disk of its own to fill, without privileges.
    const [node, ...args] = tsx('disk-full-run.ts');
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', `mount -t tmpfs -o size=24m tmpfs "$0" && exec "$@"`, data, node!, ...args, data],
      { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { before: number[]; whileFull: { status: number; code: string; retryAfter: string }[]; readWhileFull: number; after: { status: number }; unfinished: string[]; fullLogs: unknown[] };
    assert.deepEqual(out.before, Array(20).fill(202));
    for (const answer of out.whileFull) assert.deepEqual(answer, { status: 503, code: 'STORE_FULL', retryAfter: '30' });
    assert.equal(out.fullLogs.length, 1, `one log line while full: ${JSON.stringify(out.fullLogs)}`);
    assert.equal(out.readWhileFull, 20, 'accepted jobs stay readable while the disk is full');
    assert.equal(out.after.status, 202, 'accepting again once space is free');
    assert.deepEqual(new Set(out.unfinished), new Set([...Array.from({ length: 20 }, (_, i) => `before-${i}`), 'after']));
  });
});

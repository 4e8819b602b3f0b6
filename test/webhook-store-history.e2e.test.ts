// A service restarted on a store that holds more finished history than a JavaScript string can: every
// unfinished job must still be delivered, and a second restart must not read that history again.
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { JobRecord } from '@clip-agiqa/webhook';

import { tempDir } from './support/helpers.js';
import { CALLBACK_SECRET, loopback, readAll, spawnServe, until } from './support/webhook-helpers.js';

const GIB = 1 << 30;
const UNFINISHED = 100;

const record = (id: string, state: JobRecord['state'], callback: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  id, route: 'jobs', state, job: { job_id: id, callback_url: callback, candidates: [{ url: 'https://example.com/a.png' }], policy: { mode: 'rank' } },
  blobs: [null], fetchErrors: [null], delivery: { url: callback, webhookId: `msg_${id}`, attempts: 0, nextAt: 0 },
  acceptedAt: Date.now(), updatedAt: Date.now(), ...extra,
});

/** Writes the journal an earlier version kept: > 1 GiB of delivered jobs (large metadata), then the unfinished ones. */
function writeHistory(file: string, callback: string): void {
  const fd = openSync(file, 'w', 0o600);
  const metadata = { note: 'x'.repeat(256 << 10) };
  let written = 0;
  for (let i = 0; written <= GIB + (16 << 20); i++) {
    const r = record(`old-${i}`, 'delivered', callback);
    written += writeSync(fd, `${JSON.stringify({ ...r, job: { ...r.job, metadata } })}\n`);
  }
  const verdict = { type: 'verdict.ready', job_id: 'x', results: [] } as unknown as JobRecord['verdict'];
  for (let i = 0; i < UNFINISHED; i++) writeSync(fd, `${JSON.stringify(record(`open-${i}`, 'scored', callback, { verdict: { ...verdict!, job_id: `open-${i}` } as JobRecord['verdict'] }))}\n`);
  closeSync(fd);
}

describe('disk store history', () => {
  const children: { kill(s: NodeJS.Signals): boolean; exitCode: number | null }[] = [];
  after(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

  it('restarts on more than 1 GiB of finished history and delivers all 100 unfinished jobs', { timeout: 300_000 }, async () => {
    using t = tempDir();
    const delivered = new Set<string>();
    await using receiver = await loopback(async (req, res) => {
      delivered.add((JSON.parse(await readAll(req)) as { data: { job_id: string } }).data.job_id);
      res.writeHead(200).end();
    });
    const data = join(t.dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    writeHistory(join(data, 'journal.jsonl'), `${receiver.url}/in`);
    assert.ok(statSync(join(data, 'journal.jsonl')).size > GIB);
    const config = join(t.dir, 'serve.json');
    writeFileSync(config, JSON.stringify({
      port: 0, data_dir: data, routes: [{ path: 'jobs', verifier: 'bearer', tokens: ['a-token-long-enough-for-the-route-0123'] }],
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'], initial_backoff_ms: 100, max_backoff_ms: 300 },
    }));

    let served = await spawnServe(config);
    children.push(served.child);
    assert.ok(await until(() => delivered.size === UNFINISHED, 120_000), `delivered ${delivered.size} of ${UNFINISHED}`);
    assert.equal(existsSync(join(data, 'journal.jsonl')), false, 'the old journal was moved into the store');
    served.child.kill('SIGTERM');
    await new Promise((r) => served.child.once('exit', r));

    // The history now lives in the store: a restart opens it without reading it.
    const started = Date.now();
    served = await spawnServe(config);
    children.push(served.child);
    const startMs = Date.now() - started;
    assert.ok(statSync(join(data, 'store.lmdb')).size > GIB, 'the finished history is kept for its retention');
    served.child.kill('SIGTERM');
    await new Promise((r) => served.child.once('exit', r));
    assert.ok(startMs < 30_000, `second start took ${startMs} ms`);
  });
});

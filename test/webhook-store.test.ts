import assert from 'node:assert/strict';
import { appendFileSync, existsSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DiskStore, MemoryStore } from '@clip-agiqa/webhook';

import { tempDir } from './support/helpers.js';
import { jobRecord, jobStoreSuite } from './support/webhook-store-suite.js';

jobStoreSuite('disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-store-'));
  return { open: () => DiskStore.open(dir), durable: true, [Symbol.asyncDispose]: async () => rmSync(dir, { recursive: true, force: true }) };
});

jobStoreSuite('memory', async () => ({ open: async () => new MemoryStore(), durable: false, [Symbol.asyncDispose]: async () => undefined }));

describe('disk job store', () => {
  it('imports the journal of an earlier version, skipping its torn last line (a write that was never acknowledged)', async () => {
    using t = tempDir();
    const lines = [jobRecord('one'), jobRecord('two'), { ...jobRecord('two'), state: 'delivered' }].map((r) => JSON.stringify(r)).join('\n');
    appendFileSync(join(t.dir, 'journal.jsonl'), `${lines}\n{"id":"four","state":"que`); // a write that died half way
    const b = await DiskStore.open(t.dir);
    assert.equal(existsSync(join(t.dir, 'journal.jsonl')), false, 'the old journal is gone once imported');
    assert.equal((await b.get('two'))?.state, 'delivered');
    assert.deepEqual((await b.unfinished()).map((r) => r.id), ['one']);
    assert.equal(await b.get('four'), undefined);
    await b.close();
  });

  it('removes finished jobs once their retention is over, never an unfinished one', async () => {
    using t = tempDir();
    const s = await DiskStore.open(t.dir, { retentionMs: 60_000 });
    const long = Date.now() - 3_600_000;
    await s.accept(jobRecord('waiting', 'queued', long));
    await s.accept(jobRecord('done-long-ago', 'queued', long));
    await s.update({ ...jobRecord('done-long-ago', 'delivered', long) });
    await s.accept(jobRecord('done-now'));
    await s.update({ ...jobRecord('done-now', 'dead') });
    await s.sweep();
    assert.equal(await s.get('done-long-ago'), undefined);
    assert.equal((await s.get('done-now'))?.state, 'dead');
    assert.equal((await s.get('waiting'))?.state, 'queued');
    await s.sweep(Date.now() + 120_000);
    assert.equal(await s.get('done-now'), undefined);
    assert.deepEqual((await s.unfinished()).map((r) => r.id), ['waiting']);
    assert.equal(await s.accept(jobRecord('done-now')), true, 'a forgotten id can be used again');
    await s.close();
  });
});

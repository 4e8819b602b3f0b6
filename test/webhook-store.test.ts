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
});

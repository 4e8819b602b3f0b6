import assert from 'node:assert/strict';
import { appendFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { JournalStore, MemoryStore } from '@clip-agiqa/webhook';

import { tempDir } from './support/helpers.js';
import { jobRecord, jobStoreSuite } from './support/webhook-store-suite.js';

jobStoreSuite('journal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-store-'));
  return { open: () => JournalStore.open(dir), durable: true, [Symbol.asyncDispose]: async () => rmSync(dir, { recursive: true, force: true }) };
});

jobStoreSuite('memory', async () => ({ open: async () => new MemoryStore(), durable: false, [Symbol.asyncDispose]: async () => undefined }));

describe('journal job store', () => {
  it('ignores a torn last line (a write that was never acknowledged)', async () => {
    using t = tempDir();
    const a = await JournalStore.open(t.dir);
    await a.accept(jobRecord('one'));
    await a.close();
    appendFileSync(join(t.dir, 'journal.jsonl'), '{"id":"four","state":"que'); // a write that died half way
    const b = await JournalStore.open(t.dir);
    assert.deepEqual((await b.unfinished()).map((r) => r.id), ['one']);
    assert.equal(await b.get('four'), undefined);
    await b.close();
  });
});

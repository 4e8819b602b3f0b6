import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { JournalStore, type JobRecord } from '@clip-agiqa/webhook';

import { tempDir } from './helpers.js';

const record = (id: string, state: JobRecord['state'] = 'queued'): JobRecord => ({
  id, route: 'r', state, job: { job_id: id, candidates: [{ url: 'https://example.com/a.png' }], policy: { mode: 'rank' } }, blobs: [null], fetchErrors: [null],
  delivery: { url: 'https://example.com/cb', webhookId: `msg_${id}`, attempts: 0, nextAt: 0 }, acceptedAt: Date.now(), updatedAt: Date.now(),
});

describe('journal job store', () => {
  it('keeps every acknowledged write across a reopen, ignores a torn last line, and accepts a job id once', async () => {
    using t = tempDir();
    const a = await JournalStore.open(t.dir);
    assert.equal(await a.accept(record('one')), true);
    assert.equal(await a.accept(record('one')), false);
    await a.accept(record('two'));
    await a.update({ ...record('two'), state: 'scored' });
    await a.accept(record('three'));
    await a.update({ ...record('three'), state: 'delivered' });
    await a.close();
    appendFileSync(join(t.dir, 'journal.jsonl'), '{"id":"four","state":"que'); // a write that died half way
    const b = await JournalStore.open(t.dir);
    assert.deepEqual(b.unfinished().map((r) => [r.id, r.state]), [['one', 'queued'], ['two', 'scored']]);
    assert.equal(b.get('three')?.state, 'delivered');
    assert.equal(b.get('four'), undefined);
    await b.close();
  });

  it('gives each job its own blob, so finishing one never removes another\'s identical image', async () => {
    using t = tempDir();
    const s = await JournalStore.open(t.dir);
    const bytes = Buffer.from('the same picture for two jobs');
    const a = { ...record('a'), blobs: [await s.putBlob('a', 0, bytes)] };
    const b = { ...record('b'), blobs: [await s.putBlob('b', 0, bytes)] };
    assert.notEqual(a.blobs[0], b.blobs[0]);
    await s.dropBlobs(a);
    assert.deepEqual(await s.readBlob(b.blobs[0]!), bytes);
    await assert.rejects(s.readBlob(a.blobs[0]!), /ENOENT/);
    await s.close();
  });
});

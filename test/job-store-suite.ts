// The behaviour every job store must have, whatever keeps the state (a journal on disk, Redis).
import assert from 'node:assert/strict';
import { it } from 'node:test';

import type { JobRecord } from '@clip-agiqa/webhook';

/** What the suite needs of a store; `await` makes synchronous and asynchronous reads look alike. */
export interface StoreUnderTest {
  accept(record: JobRecord): Promise<boolean>;
  update(record: JobRecord): Promise<void>;
  get(id: string): JobRecord | undefined | Promise<JobRecord | undefined>;
  unfinished(): JobRecord[] | Promise<JobRecord[]>;
  putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string>;
  readBlob(name: string): Promise<Buffer>;
  dropBlobs(record: JobRecord): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFixture {
  /** Opens the store on the fixture's state (again, after close(): the state must still be there). */
  open(): Promise<StoreUnderTest>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const record = (id: string, state: JobRecord['state'] = 'queued', acceptedAt = Date.now()): JobRecord => ({
  id, route: 'r', state, job: { job_id: id, candidates: [{ url: 'https://example.com/a.png' }], policy: { mode: 'rank' } }, blobs: [null], fetchErrors: [null],
  delivery: { url: 'https://example.com/cb', webhookId: `msg_${id}`, attempts: 0, nextAt: 0 }, acceptedAt, updatedAt: acceptedAt,
});

export function jobStoreSuite(fixture: () => Promise<StoreFixture>): void {
  it('accepts a job id once, even when two accepts race', async () => {
    await using f = await fixture();
    const s = await f.open();
    const results = await Promise.all([s.accept(record('one')), s.accept(record('one')), s.accept(record('one'))]);
    assert.deepEqual(results.filter(Boolean).length, 1);
    assert.equal(await s.accept(record('one')), false);
    await s.close();
  });

  it('keeps every acknowledged write across a reopen, with unfinished jobs oldest first', async () => {
    await using f = await fixture();
    const a = await f.open();
    const t = Date.now();
    await a.accept(record('one', 'queued', t));
    await a.accept(record('two', 'queued', t + 1));
    await a.update({ ...record('two', 'scored', t + 1), delivery: { ...record('two').delivery, attempts: 2, lastError: 'HTTP 503' } });
    await a.accept(record('three', 'queued', t + 2));
    await a.update(record('three', 'delivered', t + 2));
    await a.accept(record('four', 'queued', t + 3));
    await a.update(record('four', 'dead', t + 3));
    await a.close();
    const b = await f.open();
    assert.deepEqual((await b.unfinished()).map((r) => [r.id, r.state]), [['one', 'queued'], ['two', 'scored']]);
    assert.deepEqual((await b.get('two'))?.delivery, { ...record('two').delivery, attempts: 2, lastError: 'HTTP 503' });
    assert.equal((await b.get('three'))?.state, 'delivered');
    assert.equal((await b.get('four'))?.state, 'dead');
    assert.equal(await b.get('five'), undefined);
    await b.close();
  });

  it('gives each job its own blob, so finishing one never removes another\'s identical image', async () => {
    await using f = await fixture();
    const s = await f.open();
    const bytes = Buffer.from('the same picture for two jobs');
    const a = { ...record('a'), blobs: [await s.putBlob('a', 0, bytes)] };
    const b = { ...record('b'), blobs: [await s.putBlob('b', 0, bytes)] };
    assert.notEqual(a.blobs[0], b.blobs[0]);
    await s.dropBlobs(a);
    assert.deepEqual(await s.readBlob(b.blobs[0]!), bytes);
    await assert.rejects(async () => s.readBlob(a.blobs[0]!), /ENOENT|not in Redis/);
    await assert.rejects(async () => s.readBlob('../../etc/passwd'), /not a blob name/);
    await s.close();
    const again = await f.open();
    assert.deepEqual(await again.readBlob(b.blobs[0]!), bytes, 'a blob outlives the process that stored it');
    await again.close();
  });
}

// The behaviour every JobStore must have, whatever keeps the data. A store's test file calls
// jobStoreSuite with a factory; `open` on the same place twice is a restart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { JobRecord, JobStore } from '@clip-agiqa/webhook';

export interface StorePlace {
  /** Opens the store kept at this place (again, after a close: a restart). */
  open(): Promise<JobStore>;
  /** Whether data survives a close and reopen. */
  durable: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

export const jobRecord = (id: string, state: JobRecord['state'] = 'queued', acceptedAt = Date.now()): JobRecord => ({
  id, route: 'r', state, job: { job_id: id, candidates: [{ url: 'https://example.com/a.png' }], policy: { mode: 'rank' } }, blobs: [null], fetchErrors: [null],
  delivery: { url: 'https://example.com/cb', webhookId: `msg_${id}`, attempts: 0, nextAt: 0 }, acceptedAt, updatedAt: acceptedAt,
});

export function jobStoreSuite(name: string, newPlace: () => Promise<StorePlace>): void {
  describe(`job store behaviour: ${name}`, () => {
    it('accepts a job id once, keeps the last update, lists unfinished jobs oldest first', async () => {
      await using place = await newPlace();
      const s = await place.open();
      const t0 = Date.now();
      assert.equal(await s.accept(jobRecord('one', 'queued', t0)), true);
      assert.equal(await s.accept(jobRecord('one', 'queued', t0)), false);
      await s.accept(jobRecord('two', 'queued', t0 + 1));
      await s.update({ ...jobRecord('two', 'queued', t0 + 1), state: 'scored' });
      await s.accept(jobRecord('three', 'queued', t0 + 2));
      await s.update({ ...jobRecord('three', 'queued', t0 + 2), state: 'delivered' });
      assert.deepEqual((await s.unfinished()).map((r) => [r.id, r.state]), [['one', 'queued'], ['two', 'scored']]);
      assert.equal((await s.get('three'))?.state, 'delivered');
      assert.equal(await s.get('four'), undefined);
      await s.close();
      if (!place.durable) return;
      const again = await place.open();
      assert.deepEqual((await again.unfinished()).map((r) => [r.id, r.state]), [['one', 'queued'], ['two', 'scored']]);
      assert.equal((await again.get('three'))?.state, 'delivered');
      assert.equal(await again.accept(jobRecord('one')), false, 'an accepted id stays taken after a restart');
      await again.close();
    });

    it('accepts a job id once even when accepts race (two replicas taking the same job)', async () => {
      await using place = await newPlace();
      const s = await place.open();
      const results = await Promise.all([1, 2, 3].map(() => s.accept(jobRecord('raced'))));
      assert.equal(results.filter(Boolean).length, 1);
      await s.close();
    });

    it('keeps delivery attempts, a dead job and blobs across a restart', async () => {
      await using place = await newPlace();
      if (!place.durable) return;
      const s = await place.open();
      const delivery = { ...jobRecord('retrying').delivery, attempts: 2, lastError: 'HTTP 503' };
      await s.accept(jobRecord('retrying'));
      await s.update({ ...jobRecord('retrying', 'scored'), delivery });
      await s.accept(jobRecord('gave-up'));
      await s.update(jobRecord('gave-up', 'dead'));
      const blob = await s.putBlob('retrying', 0, Buffer.from('pixels'));
      await s.close();
      const again = await place.open();
      assert.deepEqual((await again.get('retrying'))?.delivery, delivery);
      assert.equal((await again.get('gave-up'))?.state, 'dead');
      assert.deepEqual((await again.unfinished()).map((r) => r.id), ['retrying']);
      assert.deepEqual(await again.readBlob(blob), Buffer.from('pixels'));
      await again.close();
    });

    it('lists dead jobs (what an operator re-queues), not delivered or unfinished ones', async () => {
      await using place = await newPlace();
      const s = await place.open();
      for (const [id, state] of [['ok', 'delivered'], ['gone', 'dead'], ['open', 'queued']] as const) {
        await s.accept(jobRecord(id));
        await s.update({ ...jobRecord(id, state), ...(state === 'dead' ? { deadCause: { stage: 'score', attempts: 5, error: 'boom', at: 1 } } : {}) });
      }
      assert.deepEqual((await s.dead()).map((r) => [r.id, r.deadCause?.error]), [['gone', 'boom']]);
      await s.close();
    });

    it('returns copies: changing a record read from the store changes nothing stored', async () => {
      await using place = await newPlace();
      const s = await place.open();
      await s.accept(jobRecord('copy'));
      const r = (await s.get('copy'))!;
      r.state = 'dead';
      r.blobs[0] = 'changed';
      assert.equal((await s.get('copy'))!.state, 'queued');
      assert.equal((await s.get('copy'))!.blobs[0], null);
      await s.close();
    });

    it('claims a message id once; a refused claim frees it, an answered one is remembered until it expires', async () => {
      await using place = await newPlace();
      const s = await place.open();
      assert.deepEqual(await s.claimMessage('r:id:1'), { state: 'claimed' });
      assert.deepEqual(await s.claimMessage('r:id:1'), { state: 'busy' });
      await s.settleMessage('r:id:1', null);
      assert.deepEqual(await s.claimMessage('r:id:1'), { state: 'claimed' }, 'a refused request does not spend the id');
      const answer = { status: 202, body: { job_id: 'j' }, expiresAt: Date.now() + 60_000 };
      await s.settleMessage('r:id:1', answer);
      assert.deepEqual(await s.claimMessage('r:id:1'), { state: 'answered', answer });
      await s.claimMessage('r:id:old');
      await s.settleMessage('r:id:old', { ...answer, expiresAt: Date.now() + 50 });
      assert.deepEqual(await s.claimMessage('r:id:old', Date.now() + 100), { state: 'claimed' }, 'an expired answer is forgotten');
      await s.close();
      if (!place.durable) return;
      const again = await place.open();
      assert.deepEqual(await again.claimMessage('r:id:1'), { state: 'answered', answer }, 'answers survive a restart');
      await again.close();
    });

    it('gives each job its own blob, so finishing one never removes another\'s identical image', async () => {
      await using place = await newPlace();
      const s = await place.open();
      const bytes = Buffer.from('the same picture for two jobs');
      const a = { ...jobRecord('a'), blobs: [await s.putBlob('a', 0, bytes)] };
      const b = { ...jobRecord('b'), blobs: [await s.putBlob('b', 0, bytes)] };
      assert.notEqual(a.blobs[0], b.blobs[0]);
      await s.dropBlobs(a);
      assert.deepEqual(await s.readBlob(b.blobs[0]!), bytes);
      await assert.rejects(s.readBlob(a.blobs[0]!), /ENOENT|no blob/);
      await assert.rejects(async () => s.readBlob('../../etc/passwd'), /not a blob name|no blob/);
      await s.close();
    });
  });
}

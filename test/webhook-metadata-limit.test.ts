import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createScorer } from '@clip-agiqa/core';
import { MemoryStore, startService } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR } from './support/helpers.js';
import { postBearer, TOKEN } from './support/webhook-helpers.js';

describe('webhook job metadata limit', () => {
  it('refuses metadata larger than the route allows (16 KiB by default) with 422 METADATA_TOO_LARGE', async () => {
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined, config: {
      port: 0, data_dir: 'unused', limits: { body_bytes: 1 << 20 },
      routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }, { path: 'tight', verifier: 'bearer', tokens: [TOKEN], metadata_bytes: 64 }] } });
    try {
      // A URL no fetch may reach: the limit must refuse before any work, and an accepted job fails its fetch later.
      const job = (metadata: object) => ({ job_id: 'm', candidates: [{ url: 'http://127.0.0.1:9/a.png' }], policy: { mode: 'rank' }, metadata });
      const big = await postBearer(service.url, 'token', job({ note: 'x'.repeat(16_384) }));
      assert.equal(big.status, 422);
      assert.equal((big.json.error as { code: string }).code, 'METADATA_TOO_LARGE');
      assert.match((big.json.error as { message: string }).message, /at most 16384/);
      const tight = await postBearer(service.url, 'tight', job({ note: 'x'.repeat(64) }));
      assert.equal((tight.json.error as { code: string }).code, 'METADATA_TOO_LARGE');
      const fits = await postBearer(service.url, 'tight', job({ id: 'a1' }));
      assert.notEqual((fits.json.error as { code?: string } | undefined)?.code, 'METADATA_TOO_LARGE');
    } finally {
      await service.close();
      await scorer.close();
    }
  });
});

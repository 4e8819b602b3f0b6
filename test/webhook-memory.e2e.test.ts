import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer } from '@clip-agiqa/core';
import { MemoryStore, startService, type WebhookVerdict } from '@clip-agiqa/webhook';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, tempDir, writePngBomb } from './support/helpers.js';
import { image, loopback, postBearer, spawnServe, TOKEN } from './support/webhook-helpers.js';

const rssOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: mb('VmRSS'), peak: mb('VmHWM') };
};

describe('webhook memory budget', { timeout: 180_000 }, () => {
  it('keeps one signed job with 64 endless image bodies within the memory budget', async (t) => {
    using dir = tempDir();
    const chunk = Buffer.alloc(64 * 1024, 7);
    // Every image URL answers 200 with a body that never ends.
    await using images = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      const pump = () => { while (!res.destroyed && res.write(chunk)); };
      res.on('drain', pump);
      pump();
    });
    const budgetMb = 64;
    const file = join(dir.dir, 'serve.json');
    writeFileSync(file, JSON.stringify({
      port: 0, data_dir: join(dir.dir, 'data'), routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }],
      fetch: { allow: ['127.0.0.0/8'], max_bytes: 8 << 20 }, limits: { memory_bytes: budgetMb << 20 },
    }));
    const { child, url } = await spawnServe(file);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const baseline = rssOf(child.pid!);
      const r = await postBearer(url, 'token', { job_id: 'endless', candidates: Array.from({ length: 64 }, (_, i) => ({ url: `${images.url}/${i}.png` })), policy: { mode: 'rank' } });
      assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 300));
      assert.match(JSON.stringify(r.json), /TOO_LARGE/);
      const after = rssOf(child.pid!);
      const growth = after.peak - baseline.rss;
      t.diagnostic(`RSS ${baseline.rss.toFixed(0)} MB before, peak ${after.peak.toFixed(0)} MB (+${growth.toFixed(0)} MB; budget ${budgetMb} MB, 64 x 8 MB bodies), ${after.rss.toFixed(0)} MB after`);
      assert.ok(growth < budgetMb + 96, `peak RSS grew by ${growth.toFixed(0)} MB for a ${budgetMb} MB budget`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('counts decoded pixels and grid crops against the budget, and refuses what can never fit', async () => {
    using dir = tempDir();
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    const budget = 16 << 20;
    const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined, config: {
      port: 0, data_dir: dir.dir, routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN], body_bytes: 16 << 20 }],
      limits: { memory_bytes: budget, concurrency: 4 }, fetch: { max_pixels: 20_000_000, max_bytes: 8 << 20 },
    } });
    try {
      // 1000x1000 grids: 8 MB to decode + 3 MB of crops each, so the 16 MB budget takes one at a time.
      const grid = await sharp(image('landscape.jpg')).resize(1000, 1000, { fit: 'fill' }).png().toBuffer();
      const big = await sharp(image('square.png')).resize(2000, 2000, { fit: 'fill' }).png().toBuffer();
      await writePngBomb(join(dir.dir, 'bomb.png'), 9000, 9000);
      const bomb = readFileSync(join(dir.dir, 'bomb.png'));
      const candidates = [
        ...[1, 2, 3, 4].map((k) => ({ id: `g${k}`, base64: grid.toString('base64'), grid: '2x2' })),
        { id: 'big', base64: big.toString('base64'), grid: '2x2' }, { id: 'bomb', base64: bomb.toString('base64') },
      ];
      const r = await postBearer(service.url, 'token', { job_id: 'grids', candidates, policy: { mode: 'rank' } });
      assert.equal(r.status, 200, JSON.stringify(r.json).slice(0, 400));
      const v = r.json as unknown as WebhookVerdict;
      assert.equal(v.candidates.filter((c) => c.scores).length, 16, 'every grid quarter was scored');
      assert.equal(v.candidates.find((c) => c.id === 'big-1')!.error!.code, 'OVER_MEMORY_BUDGET');
      assert.equal(v.candidates.find((c) => c.id === 'bomb')!.error!.code, 'TOO_MANY_PIXELS');
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const peak = Number(/clip_agiqa_memory_reserved_peak_bytes (\d+)/.exec(metrics)![1]);
      assert.ok(peak > 11_000_000 && peak <= budget, `peak reservation ${peak}`);
      assert.match(metrics, /clip_agiqa_memory_reserved_bytes 0/);
    } finally {
      await service.close();
      await scorer.close();
    }
  });
});

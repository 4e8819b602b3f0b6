// Run inside its own mount namespace with the data folder on a small tmpfs (see webhook-store-faults.e2e.test.ts):
// accepts jobs, fills the disk, and reports on stdout (one JSON object) what the service and the store did.
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { createScorer } from '@clip-agiqa/core';
import { DiskStore, startService, type LogLine } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR } from './helpers.js';

const [dataDir] = process.argv.slice(2) as [string];
const TOKEN = 'token-of-the-bearer-route-0123456789';
const hang = createServer(() => undefined); // image downloads never finish: accepted jobs stay queued
await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
const logs: LogLine[] = [];
const scorer = await createScorer({ model: DEMO_MODEL_DIR });
let store = await DiskStore.open(dataDir, { log: (l) => logs.push(l) });
const service = await startService({ scorer, store, log: (l) => logs.push(l), config: {
  port: 0, data_dir: dataDir, routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }],
  callback: { secret: `whsec_${Buffer.from('callback secret of the service!!').toString('base64')}`, allow: ['127.0.0.0/8'] }, fetch: { allow: ['127.0.0.0/8'], timeout_ms: 600_000 } } });
const post = async (id: string) => {
  const r = await fetch(`${service.url}/hooks/token`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ job_id: id, callback_url: `${hangUrl}/cb`, candidates: [{ url: `${hangUrl}/a.png` }], policy: { mode: 'rank' }, metadata: { pad: 'p'.repeat(2000) } }) });
  return { status: r.status, code: ((await r.json()) as { error?: { code: string } }).error?.code, retryAfter: r.headers.get('retry-after') };
};

const before: number[] = [];
for (let i = 0; i < 20; i++) before.push((await post(`before-${i}`)).status);
// Fill the disk to the last byte.
const filler = join(dataDir, 'filler');
const fd = openSync(filler, 'w');
const chunk = Buffer.alloc(64 << 10);
for (let size = chunk.length; size >= 1;) {
  try { writeSync(fd, chunk, 0, size); } catch { size >>= 1; }
}
closeSync(fd);
const whileFull: Awaited<ReturnType<typeof post>>[] = [];
for (let i = 0; i < 5; i++) whileFull.push(await post(`full-${i}`));
const readWhileFull = (await store.unfinished()).length;
rmSync(filler);
const after = await post('after');
await service.close(0);
await store.close();
store = await DiskStore.open(dataDir);
const unfinished = (await store.unfinished()).map((r) => r.job.job_id);
await store.close();
await scorer.close();
hang.closeAllConnections();
hang.close();
process.stdout.write(JSON.stringify({ before, whileFull, readWhileFull, after, unfinished, fullLogs: logs.filter((l) => /disk full/.test(String(l.msg))) }));

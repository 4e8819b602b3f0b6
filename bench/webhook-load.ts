// A bounded load test of `clip-agiqa serve` on loopback: a fixed number of requests at a fixed
// concurrency, synchronous (verdict in the response) and then asynchronous (202 + callback), against
// a server with small limits. Prints status counts, throughput, latency and the server's peak RSS, to
// show it sheds load (429 / 503 with Retry-After) instead of growing memory. Then the memory-budget
// scenario: signed jobs of 64 image URLs whose bodies never end, against a 128 MB budget, with the
// server's RSS sampled throughout. Then admission (bench/webhook-admission.ts): one tenant's sync
// latency alone and under another tenant's async burst, and peak RSS against the budget while eight
// 8000x8000 PNGs are scored at once. Last, restart time and RSS of the disk store against its finished
// history (bench/webhook-restart.ts).
//   node --import tsx bench/webhook-load.ts [--requests N] [--concurrency C] [--model DIR] [--scenarios load,fairness,decode,restart] [--history N,N,...]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeMemoryScenario, fairnessScenario } from './webhook-admission.js';
import { restartBench } from './webhook-restart.js';
import { serve } from './webhook-serve.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '200' }, model: { type: 'string' },
  'endless-jobs': { type: 'string', default: '4' }, scenarios: { type: 'string', default: 'load,fairness,decode,restart' },
  history: { type: 'string', default: '10000,100000,1000000' },
  'decode-budget-mb': { type: 'string', default: '512' },
} });
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const TOKEN = 'load-test-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-load-'));
const scenarios = new Set(values.scenarios.split(','));
console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`);

const receiver = createServer((req, res) => { req.resume(); req.on('end', () => setTimeout(() => res.end(), 200)); });
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
// Every image URL answers 200 with a body that never ends.
const chunk = Buffer.alloc(64 * 1024, 7);
const endless = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'image/png' });
  const pump = () => { while (!res.destroyed && res.write(chunk)); };
  res.on('drain', pump);
  pump();
});
await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
const endlessUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
const BUDGET_MB = 128;
const callback = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/verdicts`;
const served = scenarios.has('load') ? await serve(ROOT, dir, 'serve', {
  port: 0, data_dir: join(dir, 'data'), ...(values.model ? { model: values.model } : {}),
  routes: [{ path: 'hook', verifier: 'bearer', tokens: [TOKEN], body_bytes: 4 << 20 }],
  callback: { secret: `whsec_${Buffer.from('load test callback secret 0123456').toString('base64')}`, allow: ['127.0.0.0/8'] },
  fetch: { allow: ['127.0.0.0/8'], max_bytes: 8 << 20 }, limits: { concurrency: 2, sync_waiting: 16, queue: 64, memory_bytes: BUDGET_MB << 20 },
}) : null;
const url = served?.url ?? '';
const rss = () => served!.rss();

const images = ['landscape.jpg', 'portrait.jpg'].map((n) => readFileSync(join(ROOT, 'test/fixtures/images', n)).toString('base64'));
async function phase(name: string, withCallback: boolean): Promise<void> {
  const counts = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const before = rss();
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const body = JSON.stringify({ job_id: `${name}-${i}`, candidates: images.map((b64) => ({ base64: b64 })), policy: { mode: 'best-of-n' },
        ...(withCallback ? { callback_url: callback } : {}) });
      const t0 = performance.now();
      const r = await fetch(`${url}/hooks/hook`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
      await r.arrayBuffer();
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      if (r.status < 300) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]?.toFixed(0) ?? '-';
  const after = rss();
  console.log(`${name}: ${REQUESTS} requests, ${CONCURRENCY} at a time, ${seconds.toFixed(1)} s (${(REQUESTS / seconds).toFixed(0)} req/s); ` +
    `statuses ${[...counts].sort().map(([s, n]) => `${s}: ${n}`).join(', ')}; accepted latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms; ` +
    `server RSS ${before.rssMb.toFixed(0)} -> ${after.rssMb.toFixed(0)} MB (peak ${after.peakMb.toFixed(0)} MB)`);
}

async function memoryBudgetPhase(jobs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  const before = rss();
  let peak = before.rssMb;
  const sampler = setInterval(() => { peak = Math.max(peak, rss().rssMb); }, 25);
  const started = performance.now();
  const statuses = await Promise.all(Array.from({ length: jobs }, async (_, j) => {
    const body = JSON.stringify({ job_id: `endless-${j}`, candidates: Array.from({ length: 64 }, (_c, i) => ({ url: `${endlessUrl}/${j}-${i}.png` })), policy: { mode: 'rank' } });
    const r = await fetch(`${url}/hooks/hook`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    await r.arrayBuffer();
    return r.status;
  }));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 3000));
  const settled = rss();
  console.log(`memory budget: ${jobs} signed jobs at once, each 64 image URLs with endless bodies (8 MB cap each, ${jobs * 64 * 8} MB if all were held), ` +
    `budget ${BUDGET_MB} MB, ${seconds.toFixed(1)} s; statuses ${statuses.join(' ')}; server RSS ${before.rssMb.toFixed(0)} MB before, ` +
    `peak ${peak.toFixed(0)} MB (+${(peak - before.rssMb).toFixed(0)} MB), ${settled.rssMb.toFixed(0)} MB 3 s after`);
}

if (served) {
  await phase('sync', false);
  await phase('async', true);
  await memoryBudgetPhase(Number(values['endless-jobs']));
  await served.stop();
}
if (scenarios.has('fairness')) await fairnessScenario(ROOT, dir, readFileSync(join(ROOT, 'test/fixtures/images/square.png')), { burstJobs: 16, samples: 9 });
if (scenarios.has('decode')) await decodeMemoryScenario(ROOT, dir, { jobs: 8, side: 8000, budgetMb: Number(values['decode-budget-mb']) });
receiver.close();
endless.closeAllConnections();
endless.close();
rmSync(dir, { recursive: true, force: true });
if (scenarios.has('restart')) restartBench(values.history.split(',').map(Number));

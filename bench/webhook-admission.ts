// Two scenarios of `npm run bench:webhook` about admission: a tenant's synchronous latency alone and
// under another tenant's burst of asynchronous jobs, and the server's peak RSS against its memory
// budget while it scores eight 8000x8000 PNGs sent at once.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

import { smoothPng } from './large-png.js';
import { postJob, serve } from './webhook-serve.js';

const TOKEN_A = 'tenant-a-token-0123456789abcdef';
const TOKEN_B = 'tenant-b-token-0123456789abcdef';

async function listen(handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => { server.closeAllConnections(); server.close(); } };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Tenant B's synchronous requests (one image URL each), alone and while tenant A's async jobs (16 slow image URLs each) download. */
export async function fairnessScenario(root: string, dir: string, image: Buffer, o: { burstJobs: number; samples: number }): Promise<void> {
  const images = await listen((req, res) => setTimeout(() => res.end(image), req.url!.startsWith('/slow/') ? 1500 : 0));
  const receiver = await listen((req, res) => { req.resume(); req.on('end', () => res.end()); });
  const server = await serve(root, dir, 'fairness', {
    port: 0, data_dir: `${dir}/fairness-data`,
    routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A] }, { path: 'b', verifier: 'bearer', tokens: [TOKEN_B] }],
    callback: { secret: `whsec_${Buffer.from('fairness bench callback secret!!').toString('base64')}`, allow: ['127.0.0.0/8'] },
    fetch: { allow: ['127.0.0.0/8'], max_bytes: 4 << 20 }, limits: { queue: 1024 },
  });
  try {
    const sync = async (id: string) => {
      const t0 = performance.now();
      const status = await postJob(server.url, 'b', TOKEN_B, { job_id: id, candidates: [{ url: `${images.url}/fast/${id}.png` }], policy: { mode: 'rank' } });
      if (status !== 200) throw new Error(`sync request ${id}: HTTP ${status}`);
      return performance.now() - t0;
    };
    const sample = async (name: string) => {
      const out: number[] = [];
      for (let i = 0; i < o.samples; i++) {
        out.push(await sync(`${name}-${i}`));
        await new Promise((r) => setTimeout(r, 250));
      }
      return out;
    };
    for (let i = 0; i < 5; i++) await sync(`warm-up-${i}`);
    const alone = await sample('alone');
    const burst = await Promise.all(Array.from({ length: o.burstJobs }, (_, j) => postJob(server.url, 'a', TOKEN_A, {
      job_id: `burst-${j}`, callback_url: `${receiver.url}/cb`, candidates: Array.from({ length: 16 }, (_c, k) => ({ url: `${images.url}/slow/${j}-${k}.png` })), policy: { mode: 'rank' },
    })));
    const waiting = async () => Number(/clip_agiqa_waiting_for_download (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    const waitingBefore = await waiting();
    const loaded = await sample('loaded');
    const waitingAfter = await waiting();
    const ratio = median(loaded) / median(alone);
    console.log(`fairness: tenant B's sync request alone median ${median(alone).toFixed(0)} ms (max ${Math.max(...alone).toFixed(0)}); ` +
      `under tenant A's burst of ${o.burstJobs} async jobs x 16 slow image URLs (${burst.filter((s) => s === 202).length} accepted; ${waitingBefore} -> ${waitingAfter} downloads waiting for a slot meanwhile) ` +
      `median ${median(loaded).toFixed(0)} ms (max ${Math.max(...loaded).toFixed(0)}); ${ratio.toFixed(2)}x (target <= 1.5x) ${ratio <= 1.5 ? 'met' : 'MISSED'}`);
  } finally {
    await server.stop();
    images.close();
    receiver.close();
  }
}

/** Eight synchronous jobs of one 8000x8000 PNG each, sent at once; the server's RSS is sampled throughout. */
export async function decodeMemoryScenario(root: string, dir: string, o: { jobs: number; side: number; budgetMb: number }): Promise<void> {
  const pngs = await Promise.all(Array.from({ length: o.jobs }, (_, i) => smoothPng(o.side, i)));
  const warm = await smoothPng(256);
  const images = await listen((req, res) => res.end(req.url === '/warm.png' ? warm : pngs[Number(/(\d+)\.png$/.exec(req.url!)?.[1] ?? 0)]));
  const server = await serve(root, dir, 'decode', {
    port: 0, data_dir: `${dir}/decode-data`, routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A] }],
    fetch: { allow: ['127.0.0.0/8'], max_bytes: 32 << 20 }, limits: { memory_bytes: o.budgetMb << 20, memory_wait_ms: 600_000 },
  });
  try {
    await postJob(server.url, 'a', TOKEN_A, { job_id: 'warm-up', candidates: [{ url: `${images.url}/warm.png` }], policy: { mode: 'rank' } });
    await new Promise((r) => setTimeout(r, 1000));
    const before = server.rss().rssMb;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, server.rss().rssMb); }, 20);
    const started = performance.now();
    const statuses = await Promise.all(Array.from({ length: o.jobs }, (_, j) =>
      postJob(server.url, 'a', TOKEN_A, { job_id: `big-${j}`, candidates: [{ url: `${images.url}/${j}.png` }], policy: { mode: 'rank' } })));
    clearInterval(sampler);
    peak = Math.max(peak, server.rss().peakMb);
    const growth = peak - before;
    const budget = o.budgetMb;
    console.log(`decode memory: ${o.jobs} sync jobs of one ${o.side}x${o.side} PNG each (${(pngs[0]!.length / 1e6).toFixed(1)} MB on the wire) at once, ` +
      `budget ${budget} MiB, ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${statuses.join(' ')}; ` +
      `server RSS ${before.toFixed(0)} MiB before, peak +${growth.toFixed(0)} MiB = ${((growth / budget) * 100).toFixed(0)}% of the budget ` +
      `(target <= 115%) ${growth <= budget * 1.15 ? 'met' : 'MISSED'}`);
  } finally {
    await server.stop();
    images.close();
  }
}

// Measures `clip-agiqa serve` on Redis against a private loopback redis-server: async throughput with
// 1 and 2 workers, Redis commands and round-trip time per job, and the sync latency the Redis path
// (API replica -> queue -> worker) adds over the single-process journal path.
//   node --import tsx bench/webhook-cluster.ts [--jobs N] [--sync N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';

import { tempDir } from '../test/support/helpers.js';
import { RedisServer } from '../test/support/redis-server.js';
import { receiver, startReplica, stopReplica, tally, type Replica } from '../test/support/webhook-cluster.js';
import { CALLBACK_SECRET, image, postSigned, until } from '../test/support/webhook-helpers.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '200' }, sync: { type: 'string', default: '200' } } });
const JOBS = Number(values.jobs);
const SYNC = Number(values.sync);
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
const picture = image('portrait.jpg').toString('base64');
const payload = (id: string, callbackUrl?: string) => ({
  job_id: id, policy: { mode: 'best-of-n' }, candidates: [{ base64: picture }, { base64: picture }], ...(callbackUrl ? { callback_url: `${callbackUrl}/in` } : {}),
});
const config = (redisUrl: string | null) => ({
  ...(redisUrl ? { store: { kind: 'redis', url: redisUrl } } : {}),
  callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] }, limits: { concurrency: 1, queue: 100_000 },
});
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function commands(url: string): Promise<number> {
  const r = new Redis(url);
  const info = await r.info('stats');
  r.disconnect();
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

async function throughput(workers: number): Promise<{ jobsPerS: number; commandsPerJob: number }> {
  await using redis = await RedisServer.start({ aof: true });
  using t = tempDir();
  await using rx = await receiver();
  const started: Replica[] = [];
  try {
    started.push(await startReplica(t.dir, 'api', 'api', config(redis.url)));
    for (let w = 0; w < workers; w++) started.push(await startReplica(t.dir, `w${w}`, 'worker', config(redis.url)));
    await new Promise((r) => setTimeout(r, 1000)); // workers connected and idle
    const before = await commands(redis.url);
    const t0 = performance.now();
    for (let i = 0; i < JOBS; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, JOBS - i) }, (_, k) => postSigned(started[0]!.url, 'jobs', payload(`job-${i + k}`, rx.url), `msg_${i + k}`)));
    }
    if (!(await until(() => tally(rx.deliveries).delivered.size >= JOBS, 600_000))) throw new Error('not every job was delivered');
    const seconds = (performance.now() - t0) / 1000;
    // Idle workers poll and renew: count the commands of the run only, minus what an idle second costs.
    const idleBefore = await commands(redis.url);
    await new Promise((r) => setTimeout(r, 2000));
    const idlePerS = ((await commands(redis.url)) - idleBefore) / 2;
    const perJob = (idleBefore - before - idlePerS * seconds) / JOBS;
    return { jobsPerS: JOBS / seconds, commandsPerJob: perJob };
  } finally {
    for (const r of started) await stopReplica(r);
  }
}

async function syncLatency(redisPath: boolean): Promise<number[]> {
  await using redis = await RedisServer.start({ aof: true });
  using t = tempDir();
  const started: Replica[] = [];
  try {
    const cfg = config(redisPath ? redis.url : null);
    started.push(await startReplica(t.dir, 'front', redisPath ? 'api' : 'all', cfg));
    if (redisPath) started.push(await startReplica(t.dir, 'w', 'worker', cfg));
    await new Promise((r) => setTimeout(r, 1000));
    const ms: number[] = [];
    for (let i = 0; i < SYNC + 10; i++) {
      const t0 = performance.now();
      const r = await postSigned(started[0]!.url, 'jobs', payload(`sync-${i}`), `msg_sync_${i}`);
      if (r.status !== 200) throw new Error(`sync request: ${r.status} ${JSON.stringify(r.json)}`);
      if (i >= 10) ms.push(performance.now() - t0); // the first ones warm up
    }
    return ms;
  } finally {
    for (const r of started) await stopReplica(r);
  }
}

async function pingMs(): Promise<number> {
  await using redis = await RedisServer.start();
  const r = new Redis(redis.url);
  await r.ping();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) await r.ping();
  const ms = (performance.now() - t0) / 1000;
  r.disconnect();
  return ms;
}

console.log(`CPU: ${cpu}, ${(await import('node:os')).cpus().length} cores; demo model; ${JOBS} async jobs of 2 inline images; Redis with appendfsync always`);
const ping = await pingMs();
const one = await throughput(1);
const two = await throughput(2);
console.log(`async throughput: 1 worker ${one.jobsPerS.toFixed(1)} jobs/s, 2 workers ${two.jobsPerS.toFixed(1)} jobs/s (x${(two.jobsPerS / one.jobsPerS).toFixed(2)})`);
console.log(`Redis per job: ${one.commandsPerJob.toFixed(0)} commands (1 worker), ${two.commandsPerJob.toFixed(0)} (2 workers); PING round trip ${(ping * 1000).toFixed(0)} µs -> about ${(one.commandsPerJob * ping).toFixed(1)} ms of round trips per job`);
const journal = await syncLatency(false);
const viaRedis = await syncLatency(true);
console.log(`sync latency over ${SYNC} requests: journal p50 ${pct(journal, 50).toFixed(1)} ms, p95 ${pct(journal, 95).toFixed(1)} ms; `
  + `Redis (API replica -> worker) p50 ${pct(viaRedis, 50).toFixed(1)} ms, p95 ${pct(viaRedis, 95).toFixed(1)} ms; `
  + `added p50 ${(pct(viaRedis, 50) - pct(journal, 50)).toFixed(1)} ms, p95 ${(pct(viaRedis, 95) - pct(journal, 95)).toFixed(1)} ms`);

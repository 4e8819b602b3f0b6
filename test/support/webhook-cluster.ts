// Replicas of `clip-agiqa serve` sharing one Redis, as separate processes (so one can be SIGKILLed).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { verifyStandardWebhook } from '@clip-agiqa/webhook';

import { CLI } from './helpers.js';
import { CALLBACK_SECRET, loopback, readAll, SECRET } from './webhook-helpers.js';

export interface Replica {
  role: 'all' | 'api' | 'worker';
  child: ChildProcess;
  url: string;
  log: string[];
}

/** Starts `clip-agiqa serve --role ROLE` on a configuration written to `dir`; resolves once it listens. */
export function startReplica(dir: string, name: string, role: Replica['role'], config: Record<string, unknown>): Promise<Replica> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ port: 0, data_dir: join(dir, name), routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] }], ...config }));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--role', role], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ role, child, url: m[1]!, log });
    });
    child.once('exit', (code) => reject(new Error(`serve --role ${role} exited (${code}): ${log.join('')}`)));
  });
}

export async function stopReplica(r: Replica, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return r.child.exitCode;
  const exited = new Promise<number | null>((resolve) => r.child.once('exit', (code) => resolve(code)));
  r.child.kill(signal);
  return exited;
}

export interface Delivery { webhookId: string; jobId: string; at: number }

/** A callback receiver that checks every event's signature and records it. */
export async function receiver(): Promise<{ url: string; deliveries: Delivery[]; [Symbol.asyncDispose](): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server = await loopback((req, res) => {
    void readAll(req).then((body) => {
      verifyStandardWebhook([CALLBACK_SECRET], req.headers, body);
      deliveries.push({ webhookId: String(req.headers['webhook-id']), jobId: (JSON.parse(body) as { data: { job_id: string } }).data.job_id, at: Date.now() });
      res.writeHead(200).end();
    });
  });
  return { url: server.url, deliveries, [Symbol.asyncDispose]: () => server[Symbol.asyncDispose]() };
}

/** Delivered job ids, and the jobs delivered under more than one webhook-id. */
export function tally(deliveries: Delivery[]): { delivered: Set<string>; manyIds: string[] } {
  const ids = new Map<string, Set<string>>();
  for (const d of deliveries) ids.set(d.jobId, (ids.get(d.jobId) ?? new Set()).add(d.webhookId));
  return { delivered: new Set(ids.keys()), manyIds: [...ids].filter(([, s]) => s.size > 1).map(([id]) => id) };
}

/** The value of a Prometheus sample (summed over its labels), 0 when absent. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

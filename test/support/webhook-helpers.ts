// Shared pieces of the webhook tests: loopback servers, signed posts, polling.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { MemoryStore, signedHeaders, startService, type Service } from '@clip-agiqa/webhook';

import { CLI, DEMO_MODEL_DIR, IMAGES } from './helpers.js';

export const SECRET = `whsec_${Buffer.from('inbound secret of the test route!').toString('base64')}`;
export const CALLBACK_SECRET = `whsec_${Buffer.from('callback secret of the service!!').toString('base64')}`;
export const TOKEN = 'token-of-the-bearer-route-0123456789';
export const image = (name: string) => readFileSync(join(IMAGES, name));

export function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => { s += c.toString(); });
    req.on('end', () => resolve(s));
  });
}

/** A loopback server on a free port; closing it drops every connection. */
export async function loopback(handler: RequestListener): Promise<{ server: Server; url: string; [Symbol.asyncDispose](): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async [Symbol.asyncDispose]() { server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await cond()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

export interface Answer { status: number; headers: Headers; json: Record<string, unknown> }

/** POSTs a payload to a standard-webhooks route, signed with `SECRET` under the given message id. */
export async function postSigned(base: string, route: string, payload: unknown, messageId: string, secret = SECRET): Promise<Answer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const r = await fetch(`${base}/hooks/${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signedHeaders(secret, messageId, body) } });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
}

/** POSTs a payload to a bearer route. */
export async function postBearer(base: string, route: string, payload: unknown, headers: Record<string, string> = {}, token = TOKEN): Promise<Answer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const r = await fetch(`${base}/hooks/${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers } });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
}

/** Runs `clip-agiqa serve --config <file>` and resolves once it listens; the caller kills it. */
export async function spawnServe(configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { child, url };
}

/** A service on a free loopback port with one bearer route `token` (1 MiB bodies) and an in-memory store, for tests of one behaviour. */
export async function bearerService(): Promise<{ service: Service; scorer: Scorer; [Symbol.asyncDispose](): Promise<void> }> {
  const scorer = await createScorer({ model: DEMO_MODEL_DIR });
  const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined,
    config: { port: 0, data_dir: 'unused', routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], limits: { body_bytes: 1 << 20 } } });
  return { service, scorer, async [Symbol.asyncDispose]() { await service.close(); await scorer.close(); } };
}

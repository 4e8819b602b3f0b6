import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { signedHeaders, verifyStandardWebhook } from '@clip-agiqa/webhook';

import { CLI, IMAGES, tempDir } from './support/helpers.js';

const SECRET = `whsec_${Buffer.from('inbound secret of the crash test').toString('base64')}`;
const CALLBACK_SECRET = `whsec_${Buffer.from('callback secret of the crash run').toString('base64')}`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const serverLog: string[] = [];

function startServe(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); serverLog.push(d.toString()); });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
}

const waitFor = async (cond: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return cond();
};

describe('webhook service crash safety', () => {
  const servers: Server[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    servers.forEach((s) => { s.closeAllConnections(); s.close(); });
    children.forEach((c) => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); }); // a failed assertion must not leave a server behind
  });

  it('loses no accepted job when killed with SIGKILL: after a restart every verdict is delivered, with one webhook-id per job', async () => {
    using t = tempDir();
    const picture = readFileSync(join(IMAGES, 'square.png'));
    const images = createServer((_req, res) => setTimeout(() => res.end(picture), 250));
    const deliveries: { id: string; jobId: string; ok: boolean }[] = [];
    let accepting = false;
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        verifyStandardWebhook([CALLBACK_SECRET], req.headers, body);
        deliveries.push({ id: String(req.headers['webhook-id']), jobId: (JSON.parse(body) as { data: { job_id: string } }).data.job_id, ok: accepting });
        res.writeHead(accepting ? 200 : 503).end();
      });
    });
    servers.push(images, receiver);
    const imagesUrl = await listen(images);
    const receiverUrl = await listen(receiver);
    const config = join(t.dir, 'serve.json');
    writeFileSync(config, JSON.stringify({
      port: 0, data_dir: join(t.dir, 'data'), routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] }],
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'], initial_backoff_ms: 100, max_backoff_ms: 300, max_attempts: 100 },
      fetch: { allow: ['127.0.0.0/8'] }, limits: { concurrency: 2 },
    }));

    let { child, url } = await startServe(config);
    children.push(child);
    const accepted: string[] = [];
    const readers: { statusUrl: string; token: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify({ job_id: `crash-${i}`, callback_url: `${receiverUrl}/in`, policy: { mode: 'best-of-n' },
        candidates: [{ url: `${imagesUrl}/a.png` }, { url: `${imagesUrl}/b.png` }] });
      const r = await fetch(`${url}/hooks/jobs`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signedHeaders(SECRET, `msg_${i}`, body) } });
      assert.equal(r.status, 202);
      const answer = await r.json() as { status_url: string; read_token: string };
      readers.push({ statusUrl: answer.status_url, token: answer.read_token });
      accepted.push(`crash-${i}`);
    }
    assert.ok(await waitFor(() => deliveries.length >= 2, 20_000), 'some verdicts were attempted before the crash');
    const states = await Promise.all(readers.map(async ({ statusUrl, token }) =>
      ((await (await fetch(`${url}${statusUrl}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { state: string }).state));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(states.includes('queued'), `jobs still queued at the kill: ${states.join(' ')}`);
    assert.ok(states.includes('scored'), `deliveries pending at the kill: ${states.join(' ')}`);

    accepting = true;
    ({ child, url } = await startServe(config));
    children.push(child);
    const delivered = () => new Set(deliveries.filter((d) => d.ok).map((d) => d.jobId));
    assert.ok(await waitFor(() => accepted.every((id) => delivered().has(id)), 60_000), `delivered ${[...delivered()].length} of ${accepted.length}; server log:\n${serverLog.join('').split('\n').filter((l) => !l.includes('"info"')).slice(-20).join('\n')}`);
    for (const id of accepted) {
      const ids = new Set(deliveries.filter((d) => d.jobId === id).map((d) => d.id));
      assert.equal(ids.size, 1, `job ${id} was delivered under ${ids.size} webhook-ids`);
    }
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, 'SIGTERM shuts down cleanly');
  });
});

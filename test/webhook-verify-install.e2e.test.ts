// A receiver's install: only @clip-agiqa/webhook-verify, packed, in an empty folder, offline. It verifies a
// callback the service really delivered, refuses a tampered body and an old timestamp, and neither
// ONNX Runtime nor sharp is installed or loaded.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer } from '@clip-agiqa/core';
import { MemoryStore, startService } from '@clip-agiqa/webhook';

import { closedPort, DEMO_MODEL_DIR, ROOT, tempDir } from './support/helpers.js';
import { installedCopies, run, userEnv, writeProject } from './support/packed-install.js';
import { CALLBACK_SECRET, image, loopback, postBearer, readAll, TOKEN, until } from './support/webhook-helpers.js';

interface Delivery { headers: Record<string, string | string[] | undefined>; body: string }

/** One verdict the service delivers to a loopback receiver, signed with CALLBACK_SECRET. */
async function deliveredCallback(): Promise<Delivery> {
  const received: Delivery[] = [];
  await using receiver = await loopback(async (req, res) => {
    received.push({ headers: req.headers, body: await readAll(req) });
    res.end();
  });
  const scorer = await createScorer({ model: DEMO_MODEL_DIR });
  const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined, config: {
    port: 0, data_dir: 'unused', routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }],
    callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] }, limits: { body_bytes: 4 << 20 },
  } });
  try {
    const job = { job_id: 'verify-me', callback_url: `${receiver.url}/verdicts`, policy: { mode: 'rank' },
      candidates: ['landscape.jpg', 'square.png'].map((n) => ({ id: n, base64: image(n).toString('base64') })) };
    const accepted = await postBearer(service.url, 'token', job);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
    assert.ok(await until(() => received.length > 0, 20_000), 'the verdict was never delivered');
    return received[0]!;
  } finally {
    await service.close();
    await scorer.close();
  }
}

// Runs in the receiver's folder: verifies the delivery as given, with its body changed, and ten minutes
// later; then lists the CommonJS modules and the native libraries loaded (onnxruntime-node and sharp are
// CommonJS packages around libonnxruntime and libvips).
const PROBE = `
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { verifyWebhook, WebhookVerificationError } from '@clip-agiqa/webhook-verify';
const { secret, headers, body } = JSON.parse(readFileSync('delivery.json', 'utf8'));
const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { code: e instanceof WebhookVerificationError ? e.code : String(e) }; } };
const timestamp = Number(headers['webhook-timestamp']) * 1000;
console.log(JSON.stringify({
  genuine: attempt(() => verifyWebhook(secret, headers, body)),
  tampered: attempt(() => verifyWebhook(secret, headers, body.replace('verify-me', 'verify-you'))),
  old: attempt(() => verifyWebhook(secret, headers, body, { now: timestamp + 10 * 60_000 })),
  otherSecret: attempt(() => verifyWebhook('whsec_' + Buffer.from('another secret, another tenant').toString('base64'), headers, body)),
  modules: [...Object.keys(createRequire(import.meta.url).cache), ...process.report.getReport().sharedObjects],
}));`;

describe('@clip-agiqa/webhook-verify installed alone', () => {
  const work = tempDir('clip-agiqa-verify-install-');
  const app = join(work.dir, 'receiver');
  let env: NodeJS.ProcessEnv;

  before(async () => {
    env = userEnv(await closedPort());
    const tarballs = join(work.dir, 'tarballs');
    mkdirSync(tarballs);
    const pack = run('npm', ['pack', '--workspace', 'packages/webhook-verify', '--ignore-scripts', '--pack-destination', tarballs], ROOT, env);
    assert.equal(pack.status, 0, pack.stderr);
    writeProject(app, tarballs, ['webhook-verify']);
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, env);
    assert.equal(install.status, 0, install.stderr);
  });
  after(() => work[Symbol.dispose]());

  it('installs nothing else: no ONNX Runtime, no sharp', () => {
    assert.deepEqual(readdirSync(join(app, 'node_modules')).filter((e) => !e.startsWith('.')), ['@clip-agiqa']);
    assert.deepEqual(readdirSync(join(app, 'node_modules/@clip-agiqa')), ['webhook-verify']);
    for (const heavy of ['onnxruntime-node', 'sharp']) assert.deepEqual(installedCopies(app, heavy), [], `${heavy} was installed`);
  });

  it('verifies a callback the service delivered, refuses a tampered body, an old timestamp and another secret, loading neither', async () => {
    const delivery = await deliveredCallback();
    writeFileSync(join(app, 'delivery.json'), JSON.stringify({ secret: CALLBACK_SECRET, ...delivery }));
    writeFileSync(join(app, 'probe.mjs'), PROBE);
    const r = run(process.execPath, ['probe.mjs'], app, env);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<'genuine' | 'tampered' | 'old' | 'otherSecret', { ok?: { id: string }; code?: string }> & { modules: string[] };
    assert.equal(out.genuine.ok?.id, delivery.headers['webhook-id']);
    assert.equal(out.tampered.code, 'BAD_SIGNATURE');
    assert.equal(out.old.code, 'STALE_TIMESTAMP');
    assert.equal(out.otherSecret.code, 'BAD_SIGNATURE');
    assert.ok(out.modules.length > 0, 'the probe lists the native libraries it loaded');
    assert.deepEqual(out.modules.filter((m) => /onnxruntime|sharp|vips/i.test(m)), []);
  });
});

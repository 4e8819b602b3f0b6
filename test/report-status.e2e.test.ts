import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { encodeImageFrame, startBridge, type Bridge } from '@clip-agiqa/comfyui';
import { createScorer, type Scorer } from '@clip-agiqa/core';
import { isLoopbackHost, presentedSecret, ServiceActivity } from '@clip-agiqa/report';
import { MemoryStore, startService, type Service } from '@clip-agiqa/webhook';
import { WebSocket } from 'ws';

import { browserUnavailable, launchChromium, type HeadlessChromium } from './support/browser.js';
import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';

const TOKEN = 'status-page-secret';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Sends one request over the bridge protocol and waits for its reply. */
async function request(url: string, client: string, id: string, files: string[], policy: object): Promise<{ type: string }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const replies: { type: string; id?: string }[] = [];
  ws.on('message', (d) => replies.push(JSON.parse(d.toString()) as { type: string }));
  const next = async (match: (m: { type: string; id?: string }) => boolean) => {
    for (let i = 0; i < 400; i++) {
      const m = replies.find(match);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no reply; got ${JSON.stringify(replies)}`);
  };
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, client, token: TOKEN }));
  await next((m) => m.type === 'welcome');
  ws.send(JSON.stringify({ type: 'score', id, policy, images: files.map(() => ({ format: 'encoded' })) }));
  files.forEach((f, i) => ws.send(encodeImageFrame(id, i, readFileSync(join(IMAGES, f)))));
  const reply = await next((m) => m.id === id);
  ws.close();
  return reply;
}

describe('status page pieces', () => {
  it('takes the secret from Bearer or from the Basic password, nothing else', () => {
    assert.equal(presentedSecret(`Bearer ${TOKEN}`), TOKEN);
    assert.equal(presentedSecret(basic('anyone', TOKEN)), TOKEN);
    assert.equal(presentedSecret(basic('anyone', 'a:b')), 'a:b');
    assert.equal(presentedSecret(undefined), null);
    assert.equal(presentedSecret(`Token ${TOKEN}`), null);
    assert.equal(presentedSecret('Basic !!!'), null);
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('keeps each scope apart: a scoped snapshot shows only its verdicts, errors and counts', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const a = new ServiceActivity({ recent: 2, now: () => now });
    a.recordVerdict({ scope: 'tenant-a', id: 'a1', verdict: 'scored 2', scores: [1, 2], kept: [0, 1] });
    now += 1000;
    a.recordVerdict({ scope: 'tenant-b', id: 'b1', verdict: 'scored 1', scores: [3], kept: [0] });
    now += 1000;
    a.recordVerdict({ scope: 'tenant-a', id: 'a2', verdict: 'scored 1', scores: [null], kept: [] });
    a.recordVerdict({ scope: 'tenant-a', id: 'a3', verdict: 'scored 1', scores: [4], kept: [0] });
    a.recordError('tenant-b', 'BAD_TOKEN', 'wrong token');
    const onlyA = a.snapshot(['tenant-a']);
    assert.deepEqual(onlyA.recent.map((v) => v.id), ['a3', 'a2'], 'newest first, ring of 2 per scope');
    assert.deepEqual(onlyA.errors, []);
    assert.equal(onlyA.imagesTotal, 4);
    assert.equal(onlyA.requestsTotal, 3);
    assert.equal(a.snapshot(['tenant-b']).errors[0]!.code, 'BAD_TOKEN');
    assert.equal(a.snapshot().imagesTotal, 5);
    now += 61_000;
    assert.equal(a.snapshot().imagesLastMinute, 0, 'throughput counts the last minute only');
  });

  it('remembers a bounded number of scopes, forgetting the least recently active', () => {
    const a = new ServiceActivity({ maxScopes: 3 });
    for (const s of ['a', 'b', 'c']) a.recordVerdict({ scope: s, id: s, verdict: 'scored 1', scores: [1], kept: [] });
    a.recordVerdict({ scope: 'a', id: 'a2', verdict: 'scored 1', scores: [1], kept: [] });
    for (let i = 0; i < 50; i++) a.recordError(`client-${i}`, 'BAD_FRAME', 'x');
    a.recordVerdict({ scope: 'd', id: 'd', verdict: 'scored 1', scores: [1], kept: [] });
    assert.deepEqual(a.snapshot().recent.map((v) => v.scope).sort(), ['a', 'a', 'c', 'd'], 'b went first: a was active again after it');
    assert.deepEqual(a.snapshot().errors.map((e) => e.scope), ['client-49', 'client-48', 'client-47']);
  });

  it('makes thumbnails in the order the page lists verdicts, newest first, each row whole', async () => {
    const images = ['landscape.jpg', 'portrait.jpg', 'square.png'].map((f) => readFileSync(join(IMAGES, f)));
    const rows: { id: string; thumbnails: number }[] = [];
    let done: () => void;
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve, reject) => {
      done = resolve;
      timer = setTimeout(() => reject(new Error(`the newest verdict got no thumbnails; made: ${JSON.stringify(rows)}`)), 10_000);
    }).finally(() => clearTimeout(timer));
    const a = new ServiceActivity({ thumbnailsPerVerdict: 3, onThumbnails: (v) => {
      rows.push({ id: v.id, thumbnails: v.thumbnails.length });
      if (v.id === 'v3') done();
    } });
    // A burst: three answered requests before any thumbnail is ready.
    for (const id of ['v1', 'v2', 'v3']) a.recordVerdict({ scope: 'route', id, verdict: 'scored 3', scores: [1, 2, 3], kept: [0] }, images);
    await settled;
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing older is thumbnailed after the newest
    assert.deepEqual(rows, [{ id: 'v3', thumbnails: 3 }], 'the top row first, with all its thumbnails');
    const page = a.snapshot().recent;
    assert.deepEqual(page.map((v) => [v.id, v.thumbnails.length]), [['v3', 3], ['v2', 0], ['v1', 0]]);
    assert.ok(page[0]!.thumbnails.every((t) => 'dataUri' in t && t.width <= 96 && t.height <= 96));
    assert.ok((page[0]!.thumbnails[0] as { width: number }).width > (page[0]!.thumbnails[1] as { width: number }).width, 'in image order: the landscape, then the portrait');

    a.recordVerdict({ scope: 'route', id: 'v4', verdict: 'scored 3', scores: [1, 2, 3], kept: [0] }, images);
    const deadline = Date.now() + 10_000;
    while (rows.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rows[1], { id: 'v4', thumbnails: 3 }, 'a verdict arriving when the page is idle gets its thumbnails');
  });
});

describe('bridge status page in headless Chromium', { skip: browserUnavailable() ?? false }, () => {
  let chrome: HeadlessChromium;
  let scorer: Scorer;
  let bridge: Bridge;
  let plain: Bridge;
  let page: string;
  before(async () => {
    chrome = await launchChromium();
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    bridge = await startBridge({ scorer, port: 0, token: TOKEN, statusPage: true, log: () => {} });
    plain = await startBridge({ scorer, port: 0, token: TOKEN, log: () => {} });
    page = `http://127.0.0.1:${bridge.port}/status`;
  });
  after(async () => {
    await bridge?.close();
    await plain?.close();
    await scorer?.close();
    await chrome?.close();
  });

  it('asks for the bridge token and is off unless enabled', async () => {
    const none = await fetch(page);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await fetch(page, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(page, { headers: { authorization: basic('me', 'wrong') } })).status, 401);
    const ok = await fetch(page, { headers: { authorization: basic('me', TOKEN) } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.equal((await fetch(page, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 405);
    const off = await fetch(`http://127.0.0.1:${plain.port}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.notEqual(off.status, 200, 'no status page unless statusPage is set');
  });

  it('shows queue gauges, recent verdicts newest first with thumbnails (kept ones marked), and errors', async () => {
    const gate = await request(bridge.url, 'comfy-a', 'gate-1', ['landscape.jpg', 'portrait.jpg', 'square.png'], { mode: 'gate', threshold: 50, threshold_kind: 'percentile' });
    assert.equal(gate.type, 'result');
    await new Promise((r) => setTimeout(r, 300));
    const best = await request(bridge.url, 'comfy-b', 'best-1', ['wide.webp', 'grey.png'], { mode: 'best-of', k: 1 });
    assert.equal(best.type, 'result');
    const bad = await request(bridge.url, 'comfy-b', 'bad-1', ['grey.png'], { mode: 'gate' });
    assert.equal(bad.type, 'error');

    const tab = await chrome.context.newPage();
    await tab.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    const requests: string[] = [];
    tab.on('request', (r) => requests.push(r.url()));
    for (let i = 0; i < 20; i++) {
      await tab.goto(page);
      if (await tab.locator('#recent tbody tr:first-child img').count() === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(requests.filter((u) => !u.startsWith(page) && !u.startsWith('data:')), [], 'the page loads nothing else');
    assert.match(await tab.locator('h1').innerText(), /^clip-agiqa bridge status/);
    const gauges = await tab.locator('#gauges li').allInnerTexts();
    assert.ok(gauges.some((g) => /^0\s+images waiting or in scoring$/.test(g)), gauges.join(' | '));
    assert.ok(gauges.some((g) => /^5\s+images scored$/.test(g)), gauges.join(' | '));
    assert.ok(gauges.some((g) => /^2\s+requests answered$/.test(g)), gauges.join(' | '));
    const rows = tab.locator('#recent tbody tr');
    assert.equal(await rows.count(), 2);
    assert.deepEqual(await rows.locator('td:nth-child(3)').allInnerTexts(), ['best-1', 'gate-1'], 'newest first');
    assert.deepEqual(await rows.locator('td:nth-child(2)').allInnerTexts(), ['comfy-b', 'comfy-a']);
    assert.match(await rows.nth(1).locator('td:nth-child(4)').innerText(), /^filter: 2 of 3 passed \(threshold /, 'a deprecated gate is shown in the current word');
    assert.equal(await rows.nth(0).locator('img').count(), 2);
    assert.equal(await rows.nth(0).locator('img.kept').count(), 1, 'best-of 1: one kept');
    assert.match((await rows.nth(0).locator('img').first().getAttribute('src'))!, /^data:image\/webp;base64,/);
    const errors = await tab.locator('#errors tbody tr td:nth-child(3)').allInnerTexts();
    assert.deepEqual(errors, ['UNKNOWN_REQUEST', 'INVALID_POLICY'], 'the refused request, then its orphaned image frame; newest first');
    assert.deepEqual(await tab.locator('#errors tbody tr td:nth-child(2)').allInnerTexts(), ['comfy-b', 'comfy-b']);
    await tab.screenshot({ path: join(process.env.REPORT_SCREENSHOTS ?? tmpdir(), 'status.png'), fullPage: true });
    await tab.close();
  });
});

describe('webhook status pages in headless Chromium', { skip: browserUnavailable() ?? false }, () => {
  const OPERATOR = 'operator-secret-of-the-status-page';
  const TENANT_A = 'token-of-tenant-a-0123456789';
  const TENANT_B = 'token-of-tenant-b-0123456789';
  let chrome: HeadlessChromium;
  let scorer: Scorer;
  let service: Service;
  before(async () => {
    chrome = await launchChromium();
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    service = await startService({
      scorer, store: new MemoryStore(), log: () => {}, statusPage: { token: OPERATOR },
      config: { port: 0, data_dir: '/nonexistent', routes: [{ path: 'tenant-a', verifier: 'bearer', tokens: [TENANT_A] }, { path: 'tenant-b', verifier: 'bearer', tokens: [TENANT_B] }], limits: { body_bytes: 8 << 20 } },
    });
  });
  after(async () => {
    await service?.close();
    await scorer?.close();
    await chrome?.close();
  });

  const post = (route: string, token: string, body: unknown) =>
    fetch(`${service.url}/hooks/${route}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  const inline = (names: string[]) => names.map((n) => ({ id: n, base64: readFileSync(join(IMAGES, n)).toString('base64') }));

  it('the operator sees every route; a tenant sees only its own route, with its own token', async () => {
    assert.equal((await post('tenant-a', TENANT_A, { job_id: 'a-1', candidates: inline(['landscape.jpg', 'square.png']), policy: { mode: 'best-of-n' } })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await post('tenant-b', TENANT_B, { job_id: 'b-1', candidates: inline(['wide.webp']), policy: { mode: 'rank' } })).status, 200);
    assert.equal((await post('tenant-b', 'wrong-token-of-tenant-b-000000', { job_id: 'b-2', candidates: inline(['wide.webp']), policy: { mode: 'rank' } })).status, 401);

    const get = (path: string, token?: string) => fetch(`${service.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    assert.equal((await get('/status')).status, 401);
    assert.equal((await get('/status', TENANT_A)).status, 401, 'a tenant token does not open the whole-service page');
    assert.equal((await get('/status/tenant-b', TENANT_A)).status, 401, 'nor another tenant\'s page');
    assert.equal((await get('/status/tenant-a', TENANT_A)).status, 200);
    assert.equal((await get('/status/nope', OPERATOR)).status, 404);

    const tab = await chrome.context.newPage();
    await tab.setExtraHTTPHeaders({ authorization: basic('operator', OPERATOR) });
    for (let i = 0; i < 20; i++) {
      await tab.goto(`${service.url}/status`);
      if (await tab.locator('#recent tbody tr:nth-child(2) img').count() === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await tab.locator('#recent tbody tr td:nth-child(2)').allInnerTexts(), ['tenant-b', 'tenant-a']);
    assert.match(await tab.locator('#recent tbody tr:nth-child(2) td:nth-child(4)').innerText(), /^bestof\.selected: 1 of 2 passed, winner (landscape\.jpg|square\.png)$/);
    assert.equal(await tab.locator('#recent tbody tr:nth-child(2) img.kept').count(), 1);
    assert.deepEqual(await tab.locator('#errors tbody tr td:nth-child(3)').allInnerTexts(), ['BAD_TOKEN']);
    const gauges = await tab.locator('#gauges li').allInnerTexts();
    assert.ok(gauges.some((g) => /^0\s+jobs queued or scoring$/.test(g)), gauges.join(' | '));
    assert.ok(gauges.some((g) => /^3\s+images scored$/.test(g)), gauges.join(' | '));
    await tab.screenshot({ path: join(process.env.REPORT_SCREENSHOTS ?? tmpdir(), 'webhook-status.png'), fullPage: true });

    await tab.setExtraHTTPHeaders({ authorization: `Bearer ${TENANT_A}` });
    await tab.goto(`${service.url}/status/tenant-a`);
    assert.match(await tab.locator('h1').innerText(), /\(route tenant-a\)$/);
    assert.deepEqual(await tab.locator('#recent tbody tr td:nth-child(2)').allInnerTexts(), ['tenant-a'], 'tenant-b\'s verdicts stay hidden');
    assert.equal(await tab.locator('#errors').count(), 0, 'and so do its errors');
    assert.ok((await tab.locator('#gauges li').allInnerTexts()).some((g) => /^2\s+images scored$/.test(g)), 'counts are the route\'s own');
    await tab.close();
  });
});

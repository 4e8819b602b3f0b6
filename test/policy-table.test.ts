import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { encodeImageFrame, startBridge, type Bridge, type BridgeServerMessage } from '@clip-agiqa/comfyui';
import * as core from '@clip-agiqa/core';
import { MemoryStore, startService, type Service } from '@clip-agiqa/webhook';

import { TestClient } from './support/bridge-client.js';
import { IMAGES, promptHeadBundle, ROOT, tempDir } from './support/helpers.js';
import { postBearer, TOKEN } from './support/webhook-helpers.js';

/** One row of test/fixtures/policy/table.json. */
interface Case {
  name: string;
  policy: Record<string, unknown>;
  schema?: true;
  order?: number[];
  kept?: number[];
  threshold?: number;
  /** reroll-if-none-pass: the passing candidate picked, the best of them by the ranking. */
  pick?: number;
  code?: string;
  message?: string;
}
interface Table {
  heads: { name: string; higher_is_better: boolean }[];
  /** Per candidate its scores in the order of heads (null: no score on that head), or null when it failed. */
  candidates: ((number | null)[] | null)[];
  cases: Case[];
}

export const POLICY_TABLE = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/policy/table.json'), 'utf8')) as Table;

/** What an entry made of a policy, in one form: refused (code, and message unless the schema refused it), or what it decided. */
type Outcome = { code: string; message?: string } | { order: number[]; kept: number[]; threshold?: number };

const refused = (c: Case, code: string, message: string): Outcome => (c.schema ? { code } : { code, message });
const decided = (order: number[], passed: number[], threshold: number | undefined): Outcome =>
  ({ order, kept: [...passed].sort((a, b) => a - b), ...(threshold === undefined ? {} : { threshold }) });

function expected(c: Case): Outcome {
  return c.code ? refused(c, c.code, c.message ?? '') : decided(c.order!, c.kept!, c.threshold);
}

function viaCore(c: Case, candidates: readonly core.Decidable[], heads: readonly core.HeadDirection[]): Outcome {
  try {
    const { decision, threshold } = core.decideWire(candidates, c.policy, heads);
    if (c.pick !== undefined) assert.equal(decision.passed[0], c.pick, `${c.name}: the pick comes first of the passing candidates`);
    return decided(decision.order, decision.passed, threshold);
  } catch (e) {
    assert.ok(e instanceof core.PolicyError, `${c.name}: ${String(e)}`);
    return refused(c, e.code, e.message);
  }
}

const HEADS = POLICY_TABLE.heads.map((h) => ({ name: h.name, higherIsBetter: h.higher_is_better }));

describe('one policy rule: core decides every case of the golden table', () => {
  const candidates: core.Decidable[] = POLICY_TABLE.candidates.map((s) => (s === null ? { error: new Error('not scored') }
    : { scores: Object.fromEntries(HEADS.flatMap((h, i) => (s[i] === null ? [] : [[h.name, s[i]!]]))) }));
  for (const c of POLICY_TABLE.cases) {
    it(c.name, () => {
      assert.deepEqual(viaCore(c, candidates, HEADS), expected(c));
      if (c.pick !== undefined) assert.equal(c.order!.find((i) => c.kept!.includes(i)), c.pick, 'the table\'s pick is the best passing one');
    });
  }

  it('refuses a policy that is not an object, or one sent without the model\'s heads when they are named wrong later', () => {
    assert.throws(() => core.fromWirePolicy('best-of'), (e: unknown) => e instanceof core.PolicyError && e.code === 'SCHEMA_VIOLATION');
    assert.deepEqual(core.fromWirePolicy({ mode: 'best-of', head: 'sharpness' }).policy, { head: 'sharpness', topK: 1 }, 'heads are checked only against a model');
  });

  it('fills in defaults from the schema without touching the policy it was given', () => {
    const sent = { mode: 'best-of' };
    assert.deepEqual(core.fromWirePolicy(sent, HEADS), { mode: 'best-of', policy: { topK: 1 } });
    assert.deepEqual(sent, { mode: 'best-of' });
  });
});

describe('one policy rule: the webhook service, the ComfyUI bridge and core agree on every case', { timeout: 120_000 }, () => {
  const t = tempDir();
  const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'grey.png', 'wide.webp'];
  // Candidate 3 of the batch (a PNG cut short) cannot be scored, as in the table.
  const images = [...NAMES.slice(0, 3).map((n) => readFileSync(join(IMAGES, n))), readFileSync(join(IMAGES, 'square.png')).subarray(0, 120), ...NAMES.slice(3).map((n) => readFileSync(join(IMAGES, n)))];
  let scorer: core.Scorer;
  let service: Service;
  let bridge: Bridge;
  let client: TestClient;
  // Every candidate but 4 is sent with a prompt, as in the table: 4 gets no clipscore.
  const prompts = images.map((_, i) => (i === 4 ? undefined : `a photograph, take ${i}`));
  let direct: core.ScoreOutcome[];

  before(async () => {
    scorer = await core.createScorer({ model: promptHeadBundle(join(t.dir, 'bundle')) });
    assert.deepEqual(scorer.model.heads.map((h) => [h.name, h.higherIsBetter]), POLICY_TABLE.heads.map((h) => [h.name, h.higher_is_better]));
    service = await startService({ scorer, store: new MemoryStore(), log: () => undefined,
      config: { port: 0, data_dir: t.dir, routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN], body_bytes: 8 << 20 }] } });
    bridge = await startBridge({ scorer, port: 0, log: () => undefined });
    client = await TestClient.connect(bridge.url);
    await client.hello();
    direct = await scorer.score(images.map((image, i) => ({ id: String(i), image, ...(prompts[i] === undefined ? {} : { prompt: prompts[i] }) })));
    assert.ok('error' in direct[3]! && direct.filter((o) => 'scores' in o).length === 5);
    assert.deepEqual(direct.map((o) => 'scores' in o && 'clipscore' in o.scores), [true, true, true, false, false, true], 'clipscore where a prompt was sent');
  });
  after(async () => {
    client?.close();
    await bridge?.close();
    await service?.close();
    await scorer?.close();
    t[Symbol.dispose]();
  });

  async function viaWebhook(c: Case, id: string): Promise<Outcome> {
    const candidates = images.map((im, i) => ({ id: String(i), base64: im.toString('base64'), ...(prompts[i] === undefined ? {} : { prompt: prompts[i] }) }));
    const r = await postBearer(service.url, 'token', { job_id: id, candidates, policy: c.policy });
    if (r.status !== 200) {
      assert.equal(r.status, 422, `${c.name}: ${JSON.stringify(r.json)}`);
      const error = r.json.error as { code: string; message: string };
      return refused(c, error.code, error.message);
    }
    const v = r.json as { order: string[]; passed: string[]; threshold?: number };
    if (c.pick !== undefined && v.passed.length) assert.equal(v.passed[0], v.order.find((id) => v.passed.includes(id)), `${c.name}: the webhook lists the pick first`);
    return decided(v.order.map(Number), v.passed.map(Number), v.threshold);
  }

  async function viaBridge(c: Case, id: string): Promise<Outcome> {
    // Sent as a client would, unchecked: the bridge is the one to refuse (the frames of a refused request are answered as orphans).
    client.send({ type: 'score', id, policy: c.policy, images: images.map((_, i) => ({ format: 'encoded', ...(prompts[i] === undefined ? {} : { prompt: prompts[i] }) })) }, false);
    images.forEach((im, i) => client.ws.send(encodeImageFrame(id, i, im)));
    const r = await client.next<BridgeServerMessage>((x) => 'id' in x && x.id === id);
    if (r.type === 'error') return refused(c, r.code, r.message);
    assert.equal(r.type, 'result', `${c.name}: ${JSON.stringify(r)}`);
    if (r.type !== 'result') throw new Error('unreachable');
    return decided(r.decision.order, r.decision.passed, r.decision.threshold);
  }

  POLICY_TABLE.cases.forEach((c, i) => {
    it(c.name, async () => {
      const fromCore = viaCore({ ...c, pick: undefined }, direct, scorer.model.heads);
      if (c.code) assert.deepEqual(fromCore, expected(c), 'core refuses as the table says');
      assert.deepEqual(await viaWebhook(c, `case-${i}`), fromCore, 'webhook');
      assert.deepEqual(await viaBridge(c, `case-${i}`), fromCore, 'bridge');
    });
  });
});

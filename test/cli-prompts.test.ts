import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer, type ScoreRecord } from '@clip-agiqa/core';

import { CLI, DEMO_MODEL_DIR, ROOT, tempDir } from './support/helpers.js';
import { DEFAULT_GRAPH, pngWithText } from './support/png-text.js';

const EXAMPLES = join(ROOT, 'examples/images');
const COMFY_PROMPT = 'beautiful scenery nature glass bottle landscape, purple galaxy bottle,';

function score(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, 'score', '--no-progress', ...args], { cwd: ROOT, encoding: 'utf8' });
}

const records = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as ScoreRecord);
const scored = (r: ScoreRecord) => ('scores' in r ? r : assert.fail(`${r.path}: ${JSON.stringify(r.error)}`));

/** A folder with a ComfyUI PNG, an Automatic1111 PNG, and a JPEG without a prompt. */
async function generatedImages(dir: string): Promise<{ comfy: string; webui: string; jpeg: string }> {
  const comfy = join(dir, 'ComfyUI_00001_.png');
  const webui = join(dir, '00001-42.png');
  const jpeg = join(dir, 'photo.jpg');
  writeFileSync(comfy, await pngWithText({ prompt: JSON.stringify(DEFAULT_GRAPH), workflow: '{}' }, 64));
  writeFileSync(webui, await pngWithText({ parameters: 'a red fox in snow\nNegative prompt: blurry\nSteps: 20, Seed: 42' }, 64));
  copyFileSync(join(EXAMPLES, 'candidate-1-clean.jpg'), jpeg);
  return { comfy, webui, jpeg };
}

describe('clip-agiqa score with prompts', () => {
  it('--prompt scores every image against it: the clipscore the API gives, the prompt in each record', async () => {
    const r = score(['--json', '--prompt', 'a clean photo of a street', EXAMPLES]);
    assert.equal(r.status, 0, r.stderr);
    const rows = records(r.stdout).map(scored);
    assert.equal(rows.length, 4);
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    try {
      for (const row of rows) {
        assert.equal(row.prompt, 'a clean photo of a street');
        const api = await scorer.score(row.path, { prompt: 'a clean photo of a street' });
        assert.deepEqual(row.scores, api.scores);
        assert.ok(row.scores.clipscore! >= 0 && row.scores.clipscore! <= 2.5);
      }
    } finally {
      await scorer.close();
    }
  });

  it('reads the prompts ComfyUI and Automatic1111 wrote into PNGs; an image without one has no clipscore', async () => {
    using t = tempDir();
    const { comfy, webui, jpeg } = await generatedImages(t.dir);
    const csv = join(t.dir, 'scores.csv');
    const r = score(['--json', '--csv', csv, t.dir]);
    assert.equal(r.status, 0, r.stderr);
    const byPath = new Map(records(r.stdout).map((x) => [x.path, scored(x)]));
    assert.equal(byPath.get(comfy)!.prompt, COMFY_PROMPT);
    assert.equal(byPath.get(webui)!.prompt, 'a red fox in snow');
    assert.equal(byPath.get(jpeg)!.prompt, undefined);
    assert.equal(byPath.get(jpeg)!.scores.clipscore, undefined);
    assert.equal(typeof byPath.get(comfy)!.scores.clipscore, 'number');
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'path,quality,clipscore,prompt,error_code,error_message');
    assert.ok(lines.some((l) => l.startsWith(`${webui},`) && l.endsWith(',a red fox in snow,,')));

    const text = score([t.dir]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`\\d\\.\\d{4} +- +${jpeg.replace(/[.]/g, '\\.')}`), 'the JPEG shows no clipscore');

    const off = score(['--json', '--no-metadata-prompt', t.dir]);
    assert.equal(off.status, 0, off.stderr);
    assert.ok(records(off.stdout).every((x) => 'scores' in x && x.prompt === undefined && x.scores.clipscore === undefined));
  });

  it('--prompts FILE (JSON or CSV, paths relative to it) wins over --prompt and metadata; entries naming no image are counted', async () => {
    using t = tempDir();
    const { comfy, webui, jpeg } = await generatedImages(t.dir);
    writeFileSync(join(t.dir, 'prompts.json'), JSON.stringify({ 'ComfyUI_00001_.png': 'from the json file', 'missing.png': 'nobody' }));
    writeFileSync(join(t.dir, 'prompts.csv'), 'path,prompt\n"photo.jpg","a street, at noon"\n');
    const json = score(['--json', '--prompts', join(t.dir, 'prompts.json'), '--prompt', 'the fallback', comfy, webui, jpeg]);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(records(json.stdout).map((x) => scored(x).prompt), ['from the json file', 'the fallback', 'the fallback']);
    assert.match(json.stderr, /warning: 1 entry of .*prompts\.json name no image scored here/);
    const csv = score(['--json', '--prompts', join(t.dir, 'prompts.csv'), comfy, jpeg]);
    assert.equal(csv.status, 0, csv.stderr);
    assert.deepEqual(records(csv.stdout).map((x) => scored(x).prompt), [COMFY_PROMPT, 'a street, at noon']);
  });

  it('--head clipscore ranks by alignment; an image without a prompt is an error row (PROMPT_REQUIRED), exit 1', async () => {
    using t = tempDir();
    await generatedImages(t.dir);
    const r = score(['--json', '--head', 'clipscore', '--top', '3', t.dir]);
    assert.equal(r.status, 1, r.stderr);
    const rows = records(r.stdout);
    assert.deepEqual(rows.map((x) => ('scores' in x ? x.rank : x.error.code)), [1, 2, 'PROMPT_REQUIRED']);
    const [a, b] = rows.map((x) => ('scores' in x ? x.scores.clipscore! : NaN));
    assert.ok(a! >= b!);
  });

  it('refuses prompt files it cannot read with a usage error (exit 2)', async () => {
    using t = tempDir();
    const cases: [string, string, RegExp][] = [
      ['p.txt', 'x', /must be a \.json or \.csv file/],
      ['p.csv', 'file,text\na.png,x\n', /needs a header row with path and prompt columns/],
      ['p.json', '["a"]', /must hold one object/],
      ['q.json', '{"a.png": 3}', /the prompt of a\.png .* is not a string/],
    ];
    for (const [name, body, message] of cases) {
      writeFileSync(join(t.dir, name), body);
      const r = score(['--prompts', join(t.dir, name), EXAMPLES]);
      assert.equal(r.status, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(score(['--clipscore-scale', 'huge', EXAMPLES]).status, 2);
    const metres = score(['--json', '--clipscore-scale', 'torchmetrics', '--prompt', 'a cat', EXAMPLES]);
    assert.equal(metres.status, 0, metres.stderr);
    const hessel = score(['--json', '--prompt', 'a cat', EXAMPLES]);
    records(metres.stdout).forEach((m, i) => {
      const h = records(hessel.stdout)[i]!;
      assert.ok(Math.abs(scored(m).scores.clipscore! - 40 * scored(h).scores.clipscore!) < 1e-9);
    });
  });
});

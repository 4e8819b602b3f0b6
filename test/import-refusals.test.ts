import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer, ImportError, type ErrorCode } from '@clip-agiqa/core';
import { importModel, type HubProgress } from '@clip-agiqa/core/import';

import { cli } from './support/cli-in-process.js';
import { countFileReads } from './support/file-reads.js';
import { demoLayout } from './support/demo-layout.js';
import { startHubServer } from './support/hub-server.js';
import { DEMO_MODEL_DIR, IMAGES, ROOT, tempDir } from './support/helpers.js';

const editJson = (path: string, edit: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(j);
  writeFileSync(path, JSON.stringify(j));
};

async function refused(source: string, out: string, code: ErrorCode, file: string): Promise<ImportError> {
  const e = await importModel(source, { out }).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof ImportError, `expected an ImportError ${code}, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.ok(e.input?.endsWith(file), `names ${e.input}, expected …${file}`);
  return e;
}

describe('importing a folder: what it reads and what it refuses', () => {
  it('imports the older layout (CLIPFeatureExtractor config, text tower without attention mask)', async () => {
    using t = tempDir();
    const { bundle, skipped } = await importModel(demoLayout(join(t.dir, 'src')), { out: join(t.dir, 'bundle') });
    assert.deepEqual(skipped, []);
    assert.deepEqual(Object.keys(bundle.manifest.image_encoder.files).sort(), ['fp32', 'int8']);
    assert.equal(bundle.manifest.text_encoder?.attention_mask, undefined);
    assert.equal(bundle.manifest.preprocess.size, 224);
    const scorer = await createScorer({ model: bundle.dir });
    try {
      const { scores } = await scorer.score(join(ROOT, 'examples/images/candidate-1-clean.jpg'));
      for (const v of Object.values(scores)) assert.ok(v >= 0 && v <= 1, String(v));
      assert.equal(scorer.model.untrained, false);
    } finally {
      await scorer.close();
    }
  });

  it('reads the tokenizer from tokenizer.json alone', async () => {
    using t = tempDir();
    const src = demoLayout(join(t.dir, 'src'));
    const vocab = JSON.parse(readFileSync(join(src, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = readFileSync(join(src, 'merges.txt'), 'utf8').split('\n').slice(1).filter(Boolean).map((m) => m.split(' '));
    const special = ['<|startoftext|>', '<|endoftext|>'];
    writeFileSync(join(src, 'tokenizer.json'), JSON.stringify({
      version: '1.0', added_tokens: special.map((content) => ({ id: vocab[content], content, special: true })),
      model: { type: 'BPE', end_of_word_suffix: '</w>', continuing_subword_prefix: '', vocab: Object.fromEntries(Object.entries(vocab).filter(([k]) => !special.includes(k))), merges },
    }));
    rmSync(join(src, 'vocab.json'));
    rmSync(join(src, 'merges.txt'));
    const { bundle } = await importModel(src, { out: join(t.dir, 'bundle') });
    assert.deepEqual(JSON.parse(readFileSync(join(bundle.dir, 'tokenizer/vocab.json'), 'utf8')), vocab);
    assert.equal(readFileSync(join(bundle.dir, 'tokenizer/merges.txt'), 'utf8'), readFileSync(join(DEMO_MODEL_DIR, 'tokenizer/merges.txt'), 'utf8').replace(/\n*$/, '\n'));
  });

  const cases: [string, (src: string) => void, ErrorCode, string][] = [
    ['a folder that is not a CLIP (config.json model_type bert)', (s) => editJson(join(s, 'config.json'), (j) => (j.model_type = 'bert')), 'NOT_A_CLIP_MODEL', 'config.json'],
    ['an image tower that is not one (a text model in its place)', (s) => copyFileSync(join(s, 'onnx/text_model.onnx'), join(s, 'onnx/vision_model.onnx')), 'NOT_A_CLIP_MODEL', 'onnx/vision_model.onnx'],
    ['a missing vision model', (s) => rmSync(join(s, 'onnx/vision_model.onnx')), 'MISSING_VISION_MODEL', 'onnx/vision_model.onnx'],
    ['a joint-only model.onnx', (s) => {
      rmSync(join(s, 'onnx/vision_model.onnx'));
      copyFileSync(join(DEMO_MODEL_DIR, 'image_encoder.onnx'), join(s, 'onnx/model.onnx'));
    }, 'JOINT_ONLY_MODEL', 'onnx/model.onnx'],
    ['a corrupt ONNX file', (s) => truncateSync(join(s, 'onnx/vision_model.onnx'), 5000), 'CORRUPT_ONNX', 'onnx/vision_model.onnx'],
    ['a corrupt quantized variant', (s) => writeFileSync(join(s, 'onnx/vision_model_quantized.onnx'), 'not a protobuf'), 'CORRUPT_ONNX', 'onnx/vision_model_quantized.onnx'],
    ['a tokenizer of another size than config.json says', (s) => editJson(join(s, 'config.json'), (j) => ((j.text_config as Record<string, number>).vocab_size = 49408)), 'TOKENIZER_MISMATCH', 'vocab.json'],
    ['a tokenizer with ids beyond the text model\'s embedding table', (s) => {
      editJson(join(s, 'config.json'), (j) => delete (j.text_config as Record<string, number>).vocab_size);
      editJson(join(s, 'vocab.json'), (j) => (j['zebra</w>'] = 4000));
    }, 'TOKENIZER_MISMATCH', 'vocab.json'],
    ['a tokenizer that is not CLIP\'s BPE', (s) => {
      rmSync(join(s, 'vocab.json'));
      writeFileSync(join(s, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0 } } }));
    }, 'TOKENIZER_MISMATCH', 'tokenizer.json'],
    ['a resample the scorer cannot reproduce', (s) => editJson(join(s, 'preprocessor_config.json'), (j) => (j.resample = 2)), 'UNSUPPORTED_PREPROCESS', 'preprocessor_config.json'],
    ['a size that is not a positive whole number', (s) => editJson(join(s, 'preprocessor_config.json'), (j) => { j.size = { shortest_edge: -224 }; j.crop_size = -224; }), 'UNSUPPORTED_PREPROCESS', 'preprocessor_config.json'],
    ['a fractional crop size', (s) => editJson(join(s, 'preprocessor_config.json'), (j) => { j.size = 224.5; j.crop_size = 224.5; }), 'UNSUPPORTED_PREPROCESS', 'preprocessor_config.json'],
    ['a crop that differs from the resize', (s) => editJson(join(s, 'preprocessor_config.json'), (j) => (j.crop_size = 200)), 'UNSUPPORTED_PREPROCESS', 'preprocessor_config.json'],
    ['vocab.json without its merges.txt', (s) => rmSync(join(s, 'merges.txt')), 'BUNDLE_MISSING_FILE', 'merges.txt'],
    ['a missing preprocessor_config.json', (s) => rmSync(join(s, 'preprocessor_config.json')), 'BUNDLE_MISSING_FILE', 'preprocessor_config.json'],
  ];
  for (const [what, breakIt, code, file] of cases) {
    it(`refuses ${what}: ${code} naming ${file}`, async () => {
      using t = tempDir();
      const src = demoLayout(join(t.dir, 'src'));
      breakIt(src);
      await refused(src, join(t.dir, 'bundle'), code, file);
      assert.throws(() => readFileSync(join(t.dir, 'bundle/manifest.json')), 'no half-written bundle is left');
    });
  }

  it('trains on an imported CLIP: the trained head becomes the default, the zero-shot heads stay', async () => {
    using t = tempDir();
    const { bundle } = await importModel(demoLayout(join(t.dir, 'src')), { out: join(t.dir, 'imported') });
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg', 'exif-rotated.jpg', 'alpha.png'];
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos\n${names.map((n, i) => `${join(IMAGES, n)},${1 + i * 0.4}`).join('\n')}\n`);
    const out = join(t.dir, 'trained');
    const r = await cli(['train', '--model', bundle.dir, '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--epochs', '2',
      '--out', out, '--report', join(t.dir, 'report.json'), '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    const scorer = await createScorer({ model: out });
    try {
      assert.deepEqual(scorer.model.heads.map((h) => [h.name, h.provenance]), [['quality', 'trained'], ['clip-iqa', 'zero-shot'], ['levels', 'zero-shot'], ['clipscore', 'zero-shot']]);
      const ranked = await scorer.rank([join(IMAGES, 'landscape.jpg'), join(IMAGES, 'square.png')]);
      assert.equal(ranked.head, 'quality');
      const imported = await createScorer({ model: bundle.dir });
      const again = (await imported.score(join(IMAGES, 'landscape.jpg'))).scores;
      await imported.close();
      const { scores } = await scorer.score(join(IMAGES, 'landscape.jpg'));
      assert.equal(scores['clip-iqa'], again['clip-iqa']);
      assert.equal(scores.levels, again.levels);
    } finally {
      await scorer.close();
    }
  });

  it('clip-agiqa import: --help shows the road to a score, mistakes exit 2, refusals exit 1 with their code', async () => {
    using t = tempDir();
    const run = (...args: string[]) => cli(['import', ...args]);
    const help = await run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /hf:Xenova\/clip-vit-base-patch16/);
    assert.match(help.stdout, /Then: clip-agiqa score --model DIR/);
    assert.equal((await run(join(t.dir, 'x'))).status, 2, 'a folder needs --out');
    assert.equal((await run('hf:nope', '--out', join(t.dir, 'o'))).status, 2, 'not OWNER/NAME');
    const src = demoLayout(join(t.dir, 'src'));
    rmSync(join(src, 'onnx/vision_model.onnx'));
    const refused = await run(src, '--out', join(t.dir, 'out'));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /\[MISSING_VISION_MODEL\] .*onnx\/vision_model\.onnx/);
  });

  it('refuses to write into a folder that is not empty', async () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'bundle'));
    writeFileSync(join(t.dir, 'bundle/keep.txt'), 'x');
    await assert.rejects(importModel(demoLayout(join(t.dir, 'src')), { out: join(t.dir, 'bundle') }), { code: 'INVALID_ARGUMENT' });
    assert.equal(readFileSync(join(t.dir, 'bundle/keep.txt'), 'utf8'), 'x');
  });
});

describe('importing from the hub (loopback server, HF_ENDPOINT)', () => {
  async function withHub<T>(src: string, run: (hub: Awaited<ReturnType<typeof startHubServer>>) => Promise<T>): Promise<T> {
    const hub = await startHubServer('acme/clip', src);
    try {
      return await run(hub);
    } finally {
      await hub.close();
    }
  }

  it('hashes each tower once, as it downloads: building and loading the bundle read none of them again', async () => {
    using t = tempDir();
    const src = demoLayout(join(t.dir, 'src'));
    await withHub(src, async (hub) => {
      const cacheDir = join(t.dir, 'cache');
      const { result, reads } = await countFileReads(() => importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir }));
      const towers = Object.values(result.bundle.manifest.image_encoder.files).concat(result.bundle.manifest.text_encoder!.file);
      const hashedAgain = reads.filter((p) => p.endsWith('.onnx'));
      assert.deepEqual(hashedAgain, [], `tower files read after the download: ${hashedAgain.join(', ')} (of ${towers.join(', ')})`);
      process.env.HF_ENDPOINT = hub.endpoint;
      const scorer = await countFileReads(() => createScorer({ model: 'hf:acme/clip', cacheDir })).finally(() => delete process.env.HF_ENDPOINT);
      await scorer.result.close();
      assert.deepEqual(scorer.reads, [], 'a start from the cache hashes nothing');
    });
  });

  it('resumes a download cut off midway with a Range request, and checks every file', async () => {
    using t = tempDir();
    const src = demoLayout(join(t.dir, 'src'));
    await withHub(src, async (hub) => {
      hub.cutNext('onnx/vision_model.onnx');
      const progress: HubProgress[] = [];
      const options = { endpoint: hub.endpoint, cacheDir: join(t.dir, 'cache'), onProgress: (p: HubProgress) => progress.push(p) };
      await assert.rejects(importModel('hf:acme/clip', options), (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /broke off after \d+ bytes/.test(e.message));
      const { bundle, source } = await importModel('hf:acme/clip', options);
      assert.equal(source, `hf:acme/clip@${hub.commit}`);
      const resumed = hub.requests.filter((r) => r.startsWith('GET /cas/blobs/') && / \(bytes=\d+-\)$/.test(r));
      assert.equal(resumed.length, 1, hub.requests.join('\n'));
      const size = statSync(join(src, 'onnx/vision_model.onnx')).size;
      const last = progress.filter((p) => p.file === 'onnx/vision_model.onnx').pop();
      assert.deepEqual(last, { file: 'onnx/vision_model.onnx', received: size, total: size });
      const record = JSON.parse(readFileSync(join(t.dir, 'cache/hub/models--acme--clip/snapshots', hub.commit, '.snapshot.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
      assert.equal(record.files['onnx/vision_model.onnx']!.sha256, bundle.manifest.files['image_encoder.onnx']!.sha256);
    });
  });

  it('refuses bytes that do not match the checksum the hub lists (LFS sha256 and git blob id)', async () => {
    using t = tempDir();
    await withHub(demoLayout(join(t.dir, 'src')), async (hub) => {
      hub.corrupt('onnx/text_model.onnx');
      await assert.rejects(importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir: join(t.dir, 'c1') }), { code: 'CHECKSUM_MISMATCH' });
    });
    await withHub(demoLayout(join(t.dir, 'src2')), async (hub) => {
      hub.corrupt('config.json');
      await assert.rejects(importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir: join(t.dir, 'c2') }), (e: Error & { code?: string }) => e.code === 'CHECKSUM_MISMATCH' && /git blob/.test(e.message));
    });
  });

  it('pins a revision, says what is missing, and works offline from the cache', async () => {
    using t = tempDir();
    const cacheDir = join(t.dir, 'cache');
    let commit = '';
    await withHub(demoLayout(join(t.dir, 'src')), async (hub) => {
      commit = hub.commit;
      const options = { endpoint: hub.endpoint, cacheDir };
      await assert.rejects(importModel('hf:acme/nothing', options), (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /404/.test(e.message));
      await assert.rejects(importModel('hf:acme/clip@v9', options), (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /404/.test(e.message));
      const fp32Only = await importModel(`hf:acme/clip@${hub.commit}`, { ...options, precisions: [] });
      assert.deepEqual(Object.keys(fp32Only.bundle.manifest.image_encoder.files), ['fp32']);
      assert.ok(!hub.requests.some((r) => r.includes('quantized')), 'a variant not asked for is not downloaded');
      const pinned = await importModel(`hf:acme/clip@${hub.commit}`, options);
      assert.equal(pinned.source, `hf:acme/clip@${hub.commit}`);
      const saved = process.env.HF_ENDPOINT;
      process.env.HF_ENDPOINT = hub.endpoint;
      try {
        const scorer = await createScorer({ model: 'hf:acme/clip', cacheDir });
        assert.equal(scorer.bundle.dir, pinned.bundle.dir, 'createScorer reuses the import of the same commit');
        assert.deepEqual(Object.keys((await scorer.score(join(IMAGES, 'square.png'))).scores), ['clip-iqa', 'levels']);
        await scorer.close();
      } finally {
        if (saved === undefined) delete process.env.HF_ENDPOINT;
        else process.env.HF_ENDPOINT = saved;
      }
    });
    // The server is gone: the revision's last resolution and the complete snapshot serve the import;
    // an error answer from a server is not taken for being offline.
    const other = await startHubServer('acme/other', demoLayout(join(t.dir, 'other')));
    try {
      await assert.rejects(importModel('hf:acme/clip', { endpoint: other.endpoint, cacheDir }), (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /404/.test(e.message));
    } finally {
      await other.close();
    }
    const offline = await importModel('hf:acme/clip', { endpoint: 'http://127.0.0.1:9', cacheDir });
    assert.equal(offline.source, `hf:acme/clip@${commit}`);
    assert.equal(offline.imported, false);
  });

  it('uses the complete cached snapshot when the hub errors, answers garbage or hangs, with one warning; 404 still refuses', async () => {
    using t = tempDir();
    const cacheDir = join(t.dir, 'cache');
    await withHub(demoLayout(join(t.dir, 'src')), async (hub) => {
      const first = await importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir });
      for (const mode of ['server-error', 'bad-json', 'hang'] as const) {
        hub.failRevision(mode);
        const warnings: string[] = [];
        const again = await importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir, metadataTimeoutMs: 500, onWarning: (m) => warnings.push(m) });
        assert.equal(again.bundle.dir, first.bundle.dir, mode);
        assert.equal(warnings.length, 1, mode);
        assert.match(warnings[0]!, new RegExp(`the hub failed \\(.*(HTTP 500|not JSON|no data).*\\); using hf:acme/clip@${hub.commit} from the cache`), mode);
      }
      hub.failRevision(null);
      await assert.rejects(importModel('hf:acme/other', { endpoint: hub.endpoint, cacheDir, onWarning: () => assert.fail('no warning') }), /404/);
    });
  });

  it('honours HF_HUB_OFFLINE: no request at all, the cache or a clear error', async () => {
    using t = tempDir();
    const cacheDir = join(t.dir, 'cache');
    await withHub(demoLayout(join(t.dir, 'src')), async (hub) => {
      const first = await importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir });
      const before = hub.requests.length;
      const saved = process.env.HF_HUB_OFFLINE;
      const savedEndpoint = process.env.HF_ENDPOINT;
      process.env.HF_HUB_OFFLINE = '1';
      process.env.HF_ENDPOINT = hub.endpoint;
      try {
        const scorer = await createScorer({ model: 'hf:acme/clip', cacheDir });
        assert.equal(scorer.bundle.dir, first.bundle.dir);
        await scorer.close();
        await assert.rejects(importModel('hf:acme/never-cached', { endpoint: hub.endpoint, cacheDir }),
          (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /offline \(HF_HUB_OFFLINE\) and hf:acme\/never-cached@main is not in the cache/.test(e.message));
      } finally {
        if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
        else process.env.HF_HUB_OFFLINE = saved;
        if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
        else process.env.HF_ENDPOINT = savedEndpoint;
      }
      assert.equal(hub.requests.length, before, hub.requests.slice(before).join('\n'));
    });
  });

  it('downloads one 8-bit file, keeps what an interrupted import completed, and names the bundle after the repository', async () => {
    using t = tempDir();
    const src = demoLayout(join(t.dir, 'src'));
    copyFileSync(join(src, 'onnx/vision_model_quantized.onnx'), join(src, 'onnx/vision_model_int8.onnx'));
    copyFileSync(join(src, 'onnx/vision_model_quantized.onnx'), join(src, 'onnx/vision_model_uint8.onnx'));
    await withHub(src, async (hub) => {
      const options = { endpoint: hub.endpoint, cacheDir: join(t.dir, 'cache') };
      hub.cutNext('vocab.json'); // the last file: every tower is complete when the connection is cut
      await assert.rejects(importModel('hf:acme/clip', options), { code: 'DOWNLOAD_FAILED' });
      const before = hub.requests.length;
      const { bundle } = await importModel('hf:acme/clip', options);
      const again = hub.requests.slice(before);
      assert.ok(!again.some((r) => r.includes('.onnx') || r.includes('/cas/blobs/')), `the towers downloaded before the cut are not fetched again:\n${again.join('\n')}`);
      assert.ok(!hub.requests.some((r) => /vision_model_u?int8/.test(r)), 'only the 8-bit file the import uses is downloaded');
      assert.equal(bundle.manifest.name, 'acme/clip');
      assert.equal(bundle.manifest.preprocess.crop_rounding, 'floor', 'crops as the model\'s own CLIPImageProcessor');
    });
  });

  it('refuses a repository with only the joint model.onnx before downloading any ONNX file', async () => {
    using t = tempDir();
    const src = demoLayout(join(t.dir, 'src'));
    rmSync(join(src, 'onnx/vision_model.onnx'));
    copyFileSync(join(DEMO_MODEL_DIR, 'image_encoder.onnx'), join(src, 'onnx/model.onnx'));
    await withHub(src, async (hub) => {
      await assert.rejects(importModel('hf:acme/clip', { endpoint: hub.endpoint, cacheDir: join(t.dir, 'cache') }), { code: 'JOINT_ONLY_MODEL', input: 'hf:acme/clip/onnx/model.onnx' });
      assert.ok(!hub.requests.some((r) => r.includes('.onnx')), hub.requests.join('\n'));
    });
  });
});

// The packages as users get them: `npm pack` of every workspace, installed into a fresh folder outside
// this repository (so its .npmrc does not apply) with no network, then used through the API and npx.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer } from '@clip-agiqa/core';

import { demoLayout } from './support/demo-layout.js';
import { closedPort, DEMO_MODEL_DIR, IMAGES, ROOT, tempDir } from './support/helpers.js';
import { diskSize, installedCopies, type LockEntry, type PackedFile, run, userEnv, WORKSPACES, writeProject } from './support/packed-install.js';

const IMAGE = join(IMAGES, 'landscape.jpg');

describe('the packed packages', () => {
  const work = tempDir('clip-agiqa-pack-');
  const tarballs = join(work.dir, 'tarballs');
  let packed: PackedFile[];
  let expected: number;
  let port: number;

  before(async () => {
    port = await closedPort();
    mkdirSync(tarballs);
    // What `npm run release:pack` does after building: every tarball in one folder, each passing publint.
    const r = run(process.execPath, [join(ROOT, 'scripts/release-pack.mjs'), tarballs, '--json'], ROOT, userEnv(port));
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /publint/);
    packed = JSON.parse(r.stdout) as PackedFile[];
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    try {
      expected = (await scorer.score(IMAGE)).scores.quality!;
    } finally {
      await scorer.close();
    }
  });
  after(() => work[Symbol.dispose]());

  it('each carry a README, the LICENSE and the metadata a registry page shows', () => {
    assert.deepEqual(packed.map((p) => p.name).sort(), WORKSPACES.map((w) => `@clip-agiqa/${w}`).sort());
    const licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    for (const p of packed) {
      const ws = p.name.split('/')[1]!;
      const paths = p.files.map((f) => f.path);
      for (const f of ['README.md', 'LICENSE', 'package.json']) assert.ok(paths.includes(f), `${p.name} lacks ${f}`);
      assert.deepEqual(paths.filter((f) => /__pycache__|\.pyc$|tsbuildinfo|\.test\./.test(f)), [], `${p.name} ships build leftovers`);
      assert.equal(readFileSync(join(ROOT, 'packages', ws, 'LICENSE'), 'utf8'), licence);
      const readme = readFileSync(join(ROOT, 'packages', ws, 'README.md'), 'utf8');
      assert.match(readme, /## Install\n[\s\S]*npm install (-g )?@clip-agiqa\//, `${p.name} README: install`);
      assert.match(readme, /## Example\n/, `${p.name} README: example`);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'packages', ws, 'package.json'), 'utf8')) as Record<string, unknown>;
      // Only a package that brings ONNX Runtime along needs the offline-install note.
      if (pkg.dependencies !== undefined) assert.match(readme, /ONNXRUNTIME_NODE_INSTALL=skip/, `${p.name} README: offline install`);
      assert.equal((pkg.publishConfig as { access?: string } | undefined)?.access, 'public');
      assert.equal((pkg.repository as { directory?: string } | undefined)?.directory, `packages/${ws}`);
      assert.match(String(pkg.homepage), /^https:\/\//);
      assert.match(String((pkg.bugs as { url?: string } | undefined)?.url), /^https:\/\//);
      assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length > 0);
    }
  });

  it('each pass npm publish --dry-run', () => {
    for (const p of packed) {
      const r = run('npm', ['publish', '--dry-run', '--offline', join(tarballs, p.filename)], work.dir, userEnv(port));
      assert.equal(r.status, 0, `${p.name}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, new RegExp(`\\+ ${p.name}@`), `${p.name}: ${r.stdout}`);
    }
  });

  it('have package.json files npm publishes as written (npm pkg fix changes nothing)', () => {
    for (const ws of WORKSPACES) {
      using copy = tempDir('clip-agiqa-pkg-fix-');
      const written = readFileSync(join(ROOT, 'packages', ws, 'package.json'), 'utf8');
      writeFileSync(join(copy.dir, 'package.json'), written);
      const r = run('npm', ['pkg', 'fix'], copy.dir, userEnv(port));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(readFileSync(join(copy.dir, 'package.json'), 'utf8')), JSON.parse(written), `npm corrects packages/${ws}/package.json when publishing`);
    }
  });

  it('pin onnxruntime-node to the one version tested, and depend on each other at the version they carry', () => {
    const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const tested = repoLock.packages['node_modules/onnxruntime-node']!.version!;
    const manifests = WORKSPACES.map((ws) => JSON.parse(readFileSync(join(ROOT, 'packages', ws, 'package.json'), 'utf8')) as { name: string; version: string; dependencies?: Record<string, string> });
    const versions = new Map(manifests.map((m) => [m.name, m.version]));
    assert.equal(new Set(versions.values()).size, 1, `the packages carry different versions: ${JSON.stringify(Object.fromEntries(versions))}`);
    const dependants = manifests.filter((m) => m.dependencies?.['onnxruntime-node']);
    assert.ok(dependants.length > 0);
    for (const m of manifests) {
      const deps = m.dependencies ?? {};
      // A range would let a fresh install resolve a newer, untested ONNX Runtime next to a pinned one: two native libraries in one process.
      if (deps['onnxruntime-node']) assert.equal(deps['onnxruntime-node'], tested, `${m.name} asks for onnxruntime-node ${deps['onnxruntime-node']}, the tests use ${tested}`);
      for (const [dep, range] of Object.entries(deps)) if (versions.has(dep)) assert.equal(range, versions.get(dep), `${m.name} asks for ${dep}@${range}`);
    }
  });

  it("fail to install offline without ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's install step downloads CUDA libraries", { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the CUDA download happens on Linux x64 only' : false }, () => {
    const app = join(work.dir, 'app-default');
    writeProject(app, tarballs);
    const r = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, userEnv(port));
    assert.notEqual(r.status, 0, 'the install succeeded offline: has onnxruntime-node stopped downloading at install?');
    assert.match(r.stderr, /onnxruntime-node[\s\S]*ECONNREFUSED/);
  });

  it('install offline with ONNXRUNTIME_NODE_INSTALL=skip, one ONNX Runtime, and score with the API and with npx clip-agiqa, import a CLIP folder and score with it', (t) => {
    const app = join(work.dir, 'app');
    writeProject(app, tarballs);
    const env = userEnv(port, { ONNXRUNTIME_NODE_INSTALL: 'skip' });
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, env);
    assert.equal(install.status, 0, install.stderr);
    const runtimes = installedCopies(app, 'onnxruntime-node');
    assert.equal(runtimes.length, 1, `onnxruntime-node installed ${runtimes.length} times: ${runtimes.join(', ')}`);
    t.diagnostic(`installed node_modules: ${(diskSize(join(app, 'node_modules')) / 1e6).toFixed(0)} MB`);

    writeFileSync(join(app, 'score.mjs'), `
      import { createScorer, DEMO_MODEL_DIR } from '@clip-agiqa/core';
      const scorer = await createScorer({ model: DEMO_MODEL_DIR });
      const result = await scorer.score(process.argv[2]);
      await scorer.close();
      console.log(JSON.stringify({ core: import.meta.resolve('@clip-agiqa/core'), quality: result.scores.quality }));`);
    const api = run(process.execPath, ['score.mjs', IMAGE], app, env);
    assert.equal(api.status, 0, api.stderr);
    const fromApi = JSON.parse(api.stdout) as { core: string; quality: number };
    assert.ok(fromApi.core.includes(`${app}/node_modules/@clip-agiqa/core/`), `resolved ${fromApi.core}`);
    assert.equal(fromApi.quality, expected);

    const cli = run('npx', ['--no-install', 'clip-agiqa', 'score', '--json', IMAGE], app, env);
    assert.equal(cli.status, 0, cli.stderr);
    const record = JSON.parse(cli.stdout.trim()) as { path: string; scores: { quality: number } };
    assert.equal(record.path, IMAGE);
    assert.equal(record.scores.quality, expected);
    assert.match(cli.stderr, /is UNTRAINED \(random weights\): its scores mean nothing \(no --model given: the demo model\)/);

    // A CLIP in the transformers.js layout, imported and scored from the install.
    const source = demoLayout(join(work.dir, 'clip'));
    const imported = run('npx', ['--no-install', 'clip-agiqa', 'import', source, '--out', join(app, 'bundle')], app, env);
    assert.equal(imported.status, 0, imported.stderr);
    const zeroShot = run('npx', ['--no-install', 'clip-agiqa', 'score', '--json', '--model', join(app, 'bundle'), IMAGE], app, env);
    assert.equal(zeroShot.status, 0, zeroShot.stderr);
    const scores = (JSON.parse(zeroShot.stdout.trim()) as { scores: Record<string, number> }).scores;
    assert.ok(scores['clip-iqa']! >= 0 && scores['clip-iqa']! <= 1, JSON.stringify(scores));
  });
});

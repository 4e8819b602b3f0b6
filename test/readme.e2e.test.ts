// The README as a user follows it: its marked install and first-score blocks run as written against
// freshly packed tarballs, offline; every relative link in the READMEs and docs/ resolves; every npx
// command resolves to this project's scoped packages.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { closedPort, ROOT, tempDir } from './support/helpers.js';
import { installedCopies, run, userEnv, writeProject } from './support/packed-install.js';

const README = join(ROOT, 'README.md');
const DOCS = join(ROOT, 'docs');
/** The README, docs/, and the READMEs of the packages and examples. */
const pages = [
  README, ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f)),
  ...readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'README.md')),
  ...['examples/webhooks/README.md', 'examples/comfyui/README.md'].map((p) => join(ROOT, p)),
].filter((p) => existsSync(p));

/** The fenced block right after `<!-- docs-test: NAME -->`, and the block after it (its shown output, where there is one). */
function markedBlock(markdown: string, name: string): { code: string; after: string } {
  const marker = markdown.indexOf(`<!-- docs-test: ${name} -->`);
  assert.ok(marker >= 0, `README.md has no <!-- docs-test: ${name} --> block`);
  const fences = [...markdown.slice(marker).matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)];
  return { code: fences[0]![1]!, after: fences[1]?.[1] ?? '' };
}

describe('README', () => {
  const readme = readFileSync(README, 'utf8');

  it('fits on a few screens and shows a working command within its first 40 lines', () => {
    const lines = readme.split('\n');
    assert.ok(lines.length <= 400, `${lines.length} lines`);
    const firstFence = lines.findIndex((l) => l.startsWith('```sh'));
    assert.ok(firstFence >= 0 && firstFence < 40, `first command block at line ${firstFence + 1}`);
  });

  it('install and first-score blocks run as written: tarballs into a new project, offline, one ONNX Runtime, the scores shown', async () => {
    const port = await closedPort();
    using work = tempDir('clip-agiqa-readme-');
    // The layout the quick start leaves: the clone (its tarballs and examples) beside the user's project.
    const clone = join(work.dir, 'clip-agiqa-sdk');
    mkdirSync(clone);
    symlinkSync(join(ROOT, 'examples'), join(clone, 'examples'));
    const pack = run(process.execPath, [join(ROOT, 'scripts/release-pack.mjs'), join(clone, 'release')], ROOT, userEnv(port));
    assert.equal(pack.status, 0, pack.stderr);
    // Offline, npm resolves the registry's packages from this repository's lockfile and npm's cache; online,
    // a user's npm asks the registry instead. The project's package.json is the block's own `npm init`.
    const app = join(work.dir, 'my-app');
    writeProject(app, join(clone, 'release'));
    rmSync(join(app, 'package.json'));

    const install = markedBlock(readme, 'install');
    const first = markedBlock(readme, 'first-score');
    const script = `set -euo pipefail\n${install.code}${first.code}`;
    const r = run('bash', ['-c', script], work.dir, userEnv(port, { npm_config_offline: 'true' }));
    assert.equal(r.status, 0, `${script}\n${r.stderr}`);
    assert.equal(installedCopies(app, 'onnxruntime-node').length, 1);
    assert.match(r.stderr, /is UNTRAINED \(random weights\): its scores mean nothing \(no --model given: the demo model\)/);

    // The output the README shows: the same images, in the same order, with the same scores.
    const shown = first.after.split('\n').filter((l) => /^\s+\d+\.\d{4}\s+\S/.test(l)).map((l) => l.trim());
    const printed = r.stdout.split('\n').filter((l) => /^\s+\d+\.\d{4}\s+\S/.test(l)).map((l) => l.trim());
    assert.ok(shown.length > 0, 'the README shows the scores');
    assert.deepEqual(printed, shown);
  });

  it('every relative link in the READMEs and docs/ points to a file that exists', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        if (!existsSync(resolve(dirname(page), target!.split('#')[0]!))) broken.push(`${page.slice(ROOT.length + 1)}: ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('runs the command line only through this project\'s scoped package, never a bare npx clip-agiqa', () => {
    const npx = /npx\s+(--\S+\s+)*clip-agiqa\b/;
    for (const page of pages) {
      const text = readFileSync(page, 'utf8');
      // Commands: every line of a fenced block, and inline code, except where the text warns against it ("a bare `npx clip-agiqa`").
      const fenced = [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.split('\n'));
      const inline = [...text.matchAll(/(\S*)\s`([^`]+)`/g)].filter((m) => m[1] !== 'bare').map((m) => m[2]!);
      assert.deepEqual([...fenced, ...inline].filter((c) => npx.test(c)), [], `${page.slice(ROOT.length + 1)}: npx clip-agiqa resolves the unscoped name on the public registry`);
    }
  });
});

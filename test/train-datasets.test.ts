import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadAgiqa1k, loadAgiqa3k, loadAigciqa2023Csv, loadAigiqa20k, loadGenericCsv, parseCsv, readMatFile } from '@clip-agiqa/train';

import { LABELS, noShared, rejectsWithProblems } from './support/datasets.js';
import { AGIQA3K, IMAGES, ROOT, tempDir } from './support/helpers.js';

describe('CSV and MAT-file readers', () => {
  it('parses quoted fields, doubled quotes, CRLF and a BOM', () => {
    assert.deepEqual(parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\n\n3,\n'), [['a', 'b'], ['x, y', 'say "hi"'], ['3', '']]);
    assert.throws(() => parseCsv('a,"open'), /unterminated/);
  });

  it('reads numeric arrays of plain and compressed level-5 MAT-files written by scipy', () => {
    const expected = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/mat/expected.json'), 'utf8')) as Record<string, { dims: number[]; data: number[] }>;
    for (const file of ['plain.mat', 'compressed.mat']) {
      const arrays = readMatFile(readFileSync(join(ROOT, 'test/fixtures/mat', file)));
      for (const [name, e] of Object.entries(expected)) {
        assert.deepEqual(arrays.get(name)?.dims, e.dims, `${file} ${name}`);
        assert.deepEqual([...arrays.get(name)!.data], e.data, `${file} ${name}`);
      }
      assert.equal(arrays.has('label'), false, 'character arrays are skipped');
    }
    assert.throws(() => readMatFile(Buffer.alloc(200)), /not a level-5 MAT-file/);
  });
});

describe('dataset loaders on the released label files', { skip: noShared }, () => {
  it('loads AGIQA-3K with its images, both targets and the prompt groups', () => {
    const d = loadAgiqa3k(AGIQA3K);
    assert.equal(d.samples.length, 2982);
    assert.deepEqual(d.targets, ['quality', 'alignment']);
    assert.equal(new Set(d.samples.map((s) => s.group)).size, 300);
    const first = d.samples[0]!;
    assert.equal(first.id, 'AttnGAN_normal_000.jpg');
    assert.equal(first.targets.quality, 0.965602553);
    assert.equal(first.prompt, 'statue of a man');
  });

  it('loads the AIGCIQA2023, AGIQA-1K and AIGIQA-20K label files', () => {
    const a = loadAigciqa2023Csv(join(LABELS, 'aigciqa2023/aigciqa2023_index_mos100.csv'), '/nonexistent', { checkImages: false });
    assert.equal(a.samples.length, 2400);
    assert.deepEqual(a.targets, ['quality', 'authenticity', 'correspondence']);
    assert.equal(loadAgiqa1k(join(LABELS, 'agiqa-1k/AIGC_all.csv'), undefined, { checkImages: false }).samples.length, 1080);
    const b = loadAigiqa20k(join(LABELS, 'aigiqa-20k/info_train.csv'), undefined, { checkImages: false });
    assert.equal(b.samples.length, 14000);
    assert.ok(b.samples.every((s) => s.prompt && Number.isFinite(s.targets.quality)));
  });

  it('reports every problem of a broken AGIQA-3K copy at once', () => {
    using t = tempDir();
    const lines = readFileSync(join(AGIQA3K, 'data.csv'), 'utf8').trim().split(/\r?\n/).slice(0, 6);
    mkdirSync(join(t.dir, 'images'));
    for (const line of lines.slice(1, 4)) copyFileSync(join(AGIQA3K, 'images', line.split(',')[0]!), join(t.dir, 'images', line.split(',')[0]!));
    lines[2] = lines[2]!.replace(/,([\d.]+),([\d.]+),([\d.]+),([\d.]+)$/, ',n/a,$2,$3,$4'); // unparsable MOS
    lines.push(lines[1]!); // duplicate
    writeFileSync(join(t.dir, 'data.csv'), `${lines.join('\n')}\n`);
    rejectsWithProblems(() => loadAgiqa3k(t.dir), [/line 3: mos_quality "n\/a" is not a number/, /line 7: duplicate image AttnGAN_normal_000\.jpg \(first at line 2\)/, /line 5: image .* is missing/]);
  });

});

describe('generic CSV of a user\'s own ratings', () => {
  it('resolves paths against the CSV, keeps prompts and groups, and infers the scale', () => {
    using t = tempDir();
    copyFileSync(join(IMAGES, 'landscape.jpg'), join(t.dir, 'a.jpg'));
    copyFileSync(join(IMAGES, 'portrait.jpg'), join(t.dir, 'b.jpg'));
    writeFileSync(join(t.dir, 'ratings.csv'), 'path,mos,prompt,group\na.jpg,7.5,"a cat, sitting",g1\nb.jpg,2,a dog,\n');
    const d = loadGenericCsv(join(t.dir, 'ratings.csv'));
    assert.deepEqual(d.samples.map((s) => [s.path, s.targets.quality, s.prompt, s.group]), [
      [join(t.dir, 'a.jpg'), 7.5, 'a cat, sitting', 'g1'],
      [join(t.dir, 'b.jpg'), 2, 'a dog', 'a dog'],
    ]);
    assert.deepEqual(d.scale, [2, 7.5]);
  });

  it('names missing columns, bad numbers, empty paths, duplicates and missing images', () => {
    using t = tempDir();
    writeFileSync(join(t.dir, 'no-mos.csv'), 'path,score\na.jpg,1\n');
    rejectsWithProblems(() => loadGenericCsv(join(t.dir, 'no-mos.csv')), [/missing column mos/]);
    writeFileSync(join(t.dir, 'bad.csv'), 'path,mos\na.jpg,\n,3\nc.jpg,4\nc.jpg,5\n');
    rejectsWithProblems(() => loadGenericCsv(join(t.dir, 'bad.csv')), [/line 2: mos "" is not a number/, /line 3: empty path/, /line 5: duplicate image c\.jpg/, /line 4: image .*c\.jpg is missing/]);
    rejectsWithProblems(() => loadGenericCsv(join(t.dir, 'absent.csv')), [/cannot read/]);
  });
});

describe('AGIQA-1K workbook', { skip: noShared }, () => {
  const xlsx = join(LABELS, 'agiqa-1k/AIGC_MOS_Zscore.xlsx');

  it('reports the release\'s duplicated last image instead of training on it', () => {
    rejectsWithProblems(() => loadAgiqa1k(xlsx, undefined, { checkImages: false }), [/^row 1081: duplicate image dreamStudio_8_9_1_1\.jpg \(first at row 1080\)$/]);
  });
});

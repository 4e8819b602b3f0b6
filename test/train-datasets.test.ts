import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  AIGCIQA2023_MODELS, DatasetError, loadAgiqa1k, loadAgiqa3k, loadAigciqa2023, loadAigciqa2023Csv, loadAigiqa20k, loadGenericCsv,
  parseCsv, readMatFile, readXlsxFirstSheet,
} from '@clip-agiqa/train';

import { AGIQA3K, IMAGES, PYTHON, ROOT, pythonUnavailable, tempDir } from './support/helpers.js';

const LABELS = join(ROOT, '../shared/datasets/labels');
const haveShared = (() => {
  try {
    readFileSync(join(AGIQA3K, 'data.csv'));
    return true;
  } catch {
    return false;
  }
})();
const noShared = haveShared ? false : 'the datasets beside the project are missing';

function rejectsWithProblems(fn: () => unknown, patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, String(e));
    for (const p of patterns) assert.ok(e.problems.some((x) => p.test(x)), `no problem matches ${p}: ${e.problems.join(' | ')}`);
    return true;
  });
}

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

  it('maps AIGCIQA2023\'s release layout (MOSz .mat files, Image/<model>/NNN-k.png) to the official index', { skip: pythonUnavailable(['scipy', 'numpy']) ?? false }, () => {
    using t = tempDir();
    const csv = loadAigciqa2023Csv(join(LABELS, 'aigciqa2023/aigciqa2023_index_mos100.csv'), t.dir, { checkImages: false });
    // MOS files written by scipy from the label file (compressed, as MATLAB saves them), in index order.
    const rows = readFileSync(join(LABELS, 'aigciqa2023/aigciqa2023_index_mos100.csv'), 'utf8');
    const script = `
import csv, io, os, sys, numpy as np, scipy.io as sio
rows = sorted(csv.DictReader(io.StringIO(sys.stdin.read())), key=lambda r: int(r["allimg_index"]))
os.makedirs(os.path.join(sys.argv[1], "DATA", "MOS"))
for i, col in enumerate(["mos_quality", "mos_authenticity", "mos_correspondence"]):
    sio.savemat(os.path.join(sys.argv[1], "DATA", "MOS", f"mosz{i + 1}.mat"), {"MOSz": np.array([[float(r[col])] for r in rows])}, do_compression=True)`;
    const r = spawnSync(PYTHON, ['-c', script, t.dir], { input: rows, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const png = readFileSync(join(IMAGES, 'square.png'));
    for (const model of AIGCIQA2023_MODELS) {
      mkdirSync(join(t.dir, 'Image', model), { recursive: true });
      for (let p = 0; p < 100; p++) for (let k = 1; k <= 4; k++) writeFileSync(join(t.dir, 'Image', model, `${String(p).padStart(3, '0')}-${k}.png`), png);
    }
    const release = loadAigciqa2023(t.dir);
    assert.equal(release.samples.length, 2400);
    const byId = new Map(csv.samples.map((s) => [s.id, s]));
    for (const s of release.samples) assert.deepEqual(s.targets, byId.get(s.id)!.targets, s.id);

    rmSync(join(t.dir, 'Image', 'Glide', '042-3.png'));
    rejectsWithProblems(() => loadAigciqa2023(t.dir), [/image 970: image .*Glide\/042-3\.png is missing/]);
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

  it('reads the first sheet cell for cell as Python\'s XML parser does', { skip: pythonUnavailable(['xml']) ?? false }, () => {
    const script = `
import json, sys, zipfile
import xml.etree.ElementTree as ET
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
shared = ["".join(t.text or "" for t in si.iter("{%s}t" % ns["m"])) for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)]
rows = []
for row in ET.fromstring(z.read("xl/worksheets/sheet1.xml")).iter("{%s}row" % ns["m"]):
    out = []
    for c in row.findall("m:c", ns):
        v = c.find("m:v", ns)
        out.append(shared[int(v.text)] if c.get("t") == "s" else (v.text if v is not None else ""))
    rows.append(out)
print(json.dumps(rows))`;
    const r = spawnSync(PYTHON, ['-c', script, xlsx], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readXlsxFirstSheet(readFileSync(xlsx)), JSON.parse(r.stdout));
  });

  it('reports the release\'s duplicated last image instead of training on it', () => {
    rejectsWithProblems(() => loadAgiqa1k(xlsx, undefined, { checkImages: false }), [/^row 1081: duplicate image dreamStudio_8_9_1_1\.jpg \(first at row 1080\)$/]);
  });
});

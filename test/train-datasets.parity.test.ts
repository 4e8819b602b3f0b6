import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { AIGCIQA2023_MODELS, loadAigciqa2023, loadAigciqa2023Csv, readXlsxFirstSheet } from '@clip-agiqa/train';

import { LABELS, noShared, rejectsWithProblems } from './support/datasets.js';
import { IMAGES, PYTHON, pythonUnavailable, tempDir } from './support/helpers.js';

describe('dataset loaders against scipy and Python\'s XML parser', { skip: noShared }, () => {
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
});

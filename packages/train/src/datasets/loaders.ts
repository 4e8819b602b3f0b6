import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

import { parseCsv } from './csv.js';
import { DatasetBuilder, DatasetError, type Dataset, type LoadOptions } from './dataset.js';
import { readMatFile } from './mat.js';
import { readXlsxFirstSheet } from './xlsx.js';

function readCsv(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DatasetError(path, [`cannot read: ${(e as Error).message}`]);
  }
  try {
    return parseCsv(text);
  } catch (e) {
    throw new DatasetError(path, [(e as Error).message]);
  }
}

/** Maps header names to column indices; lists the required ones that are missing. */
function columns(header: string[] | undefined, required: string[], source: string): Record<string, number> {
  const index: Record<string, number> = {};
  header?.forEach((h, i) => (index[h.trim()] = i));
  const missing = required.filter((c) => !(c in index));
  if (!header || missing.length) throw new DatasetError(source, [`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header?.join(',') ?? 'none'})`]);
  return index;
}

/** AGIQA-3K: `data.csv` (name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align) + images. */
export function loadAgiqa3k(dir: string, options: LoadOptions = {}): Dataset {
  const csv = join(dir, 'data.csv');
  const images = existsSync(join(dir, 'images')) ? join(dir, 'images') : dir;
  const [header, ...rows] = readCsv(csv);
  const col = columns(header, ['name', 'prompt', 'mos_quality', 'mos_align'], csv);
  const b = new DatasetBuilder(csv, options);
  rows.forEach((r, i) => {
    const where = `line ${i + 2}`;
    const quality = b.number(r[col.mos_quality!], 'mos_quality', where);
    const alignment = b.number(r[col.mos_align!], 'mos_align', where);
    const name = r[col.name!]?.trim() ?? '';
    if (!name) return void b.problems.push(`${where}: empty name`);
    if (quality === undefined || alignment === undefined) return;
    const prompt = r[col.prompt!] ?? '';
    // Names are <generator>_<setting>_<index>.jpg, e.g. AttnGAN_normal_000.jpg.
    const generator = name.includes('_') ? name.slice(0, name.indexOf('_')) : undefined;
    b.add({ id: name, path: join(images, name), targets: { quality, alignment }, prompt, group: prompt, ...(generator ? { generator } : {}) }, where);
  });
  return b.finish('AGIQA-3K', ['quality', 'alignment'], [0, 5]);
}

/** AIGCIQA2023's generators, in the order of its image index. */
export const AIGCIQA2023_MODELS = ['Controlnet', 'DALLE', 'Glide', 'Lafite', 'stable-diffusion', 'Unidiffuser'] as const;
const AIGCIQA2023_TARGETS = ['quality', 'authenticity', 'correspondence'] as const;

/**
 * AIGCIQA2023 in its release layout: `Image/<model>/NNN-k.png` and `DATA/MOS/mosz{1,2,3}.mat` (variable
 * MOSz, 2400x1: quality, authenticity, correspondence), image index = 400*model + 4*prompt + (k-1).
 */
export function loadAigciqa2023(dir: string, options: LoadOptions = {}): Dataset {
  const mos: number[][] = [];
  for (const [t, target] of AIGCIQA2023_TARGETS.entries()) {
    const path = join(dir, 'DATA', 'MOS', `mosz${t + 1}.mat`);
    let arrays;
    try {
      arrays = readMatFile(readFileSync(path));
    } catch (e) {
      throw new DatasetError(path, [`cannot read the ${target} MOS: ${(e as Error).message}`]);
    }
    const m = arrays.get('MOSz');
    if (!m || m.data.length !== 2400) throw new DatasetError(path, [`expected a 2400-value array MOSz, found ${m ? m.data.length : 'none'}`]);
    mos.push([...m.data]);
  }
  const b = new DatasetBuilder(dir, options);
  AIGCIQA2023_MODELS.forEach((model, mi) => {
    for (let prompt = 0; prompt < 100; prompt++) {
      for (let k = 1; k <= 4; k++) {
        const index = 400 * mi + 4 * prompt + (k - 1);
        const name = `${String(prompt).padStart(3, '0')}-${k}.png`;
        const targets = Object.fromEntries(AIGCIQA2023_TARGETS.map((t, ti) => [t, mos[ti]![index]!]));
        b.add({ id: `${model}/${name}`, path: join(dir, 'Image', model, name), targets, group: `prompt-${prompt}`, generator: model }, `image ${index}`);
      }
    }
  });
  return b.finish('AIGCIQA2023', [...AIGCIQA2023_TARGETS], [0, 100]);
}

/**
 * AIGCIQA2023 from the flat label file (allimg_index,model,image_name,mos_quality,mos_authenticity,mos_correspondence,prompt),
 * in the order of the image index (the release's and the official code's row order) when the file has it.
 */
export function loadAigciqa2023Csv(csvPath: string, imagesRoot: string, options: LoadOptions = {}): Dataset {
  const [header, ...lines] = readCsv(csvPath);
  const col = columns(header, ['model', 'image_name', 'mos_quality', 'mos_authenticity', 'mos_correspondence', 'prompt'], csvPath);
  const index = col.allimg_index;
  const rows = lines.map((r, i) => ({ r, line: i + 2 }));
  if (index !== undefined) rows.sort((a, b) => Number(a.r[index]) - Number(b.r[index]));
  const b = new DatasetBuilder(csvPath, options);
  rows.forEach(({ r, line }) => {
    const where = `line ${line}`;
    const values = AIGCIQA2023_TARGETS.map((t) => b.number(r[col[`mos_${t}`]!], `mos_${t}`, where));
    if (values.some((v) => v === undefined)) return;
    const model = r[col.model!]!;
    const name = r[col.image_name!]!;
    const prompt = r[col.prompt!] ?? '';
    b.add({ id: `${model}/${name}`, path: join(imagesRoot, 'Image', model, name),
      targets: Object.fromEntries(AIGCIQA2023_TARGETS.map((t, ti) => [t, values[ti]!])), prompt, group: prompt, generator: model }, where);
  });
  return b.finish('AIGCIQA2023', [...AIGCIQA2023_TARGETS], [0, 100]);
}

/**
 * AGIQA-1K from `AIGC_MOS_Zscore.xlsx` (Image, Prompt, MOS) or `AIGC_all.csv` (Image, Score); images under
 * `images` (default: `file/` beside the label file, else its folder).
 */
export function loadAgiqa1k(labelPath: string, images?: string, options: LoadOptions = {}): Dataset {
  const root = images ?? (existsSync(join(dirname(labelPath), 'file')) ? join(dirname(labelPath), 'file') : dirname(labelPath));
  const xlsx = labelPath.toLowerCase().endsWith('.xlsx');
  let table: string[][];
  try {
    table = xlsx ? readXlsxFirstSheet(readFileSync(labelPath)) : readCsv(labelPath);
  } catch (e) {
    throw e instanceof DatasetError ? e : new DatasetError(labelPath, [`cannot read: ${(e as Error).message}`]);
  }
  const [header, ...rows] = table;
  const score = xlsx ? 'MOS' : 'Score';
  const col = columns(header, xlsx ? ['Image', 'Prompt', 'MOS'] : ['Image', 'Score'], labelPath);
  const b = new DatasetBuilder(labelPath, options);
  rows.forEach((r, i) => {
    const where = `${xlsx ? 'row' : 'line'} ${i + 2}`;
    const name = r[col.Image!]?.trim() ?? '';
    if (!name && r.every((c) => !c.trim())) return; // trailing empty rows of a sheet
    const quality = b.number(r[col[score]!], score, where);
    if (quality === undefined || !name) return;
    const prompt = col.Prompt === undefined ? undefined : r[col.Prompt];
    b.add({ id: name, path: join(root, name), targets: { quality }, ...(prompt ? { prompt, group: prompt } : {}) }, where);
  });
  return b.finish('AGIQA-1K', ['quality'], [0, 5]);
}

/** AIGIQA-20K from `info_train.csv` (name,prompt,mos; no header line). */
export function loadAigiqa20k(csvPath: string, images?: string, options: LoadOptions = {}): Dataset {
  const root = images ?? dirname(csvPath);
  const b = new DatasetBuilder(csvPath, options);
  readCsv(csvPath).forEach((r, i) => {
    const where = `line ${i + 1}`;
    if (r.length < 3) return void b.problems.push(`${where}: expected name,prompt,mos, found ${r.length} field(s)`);
    const quality = b.number(r[2], 'mos', where);
    if (quality === undefined) return;
    b.add({ id: r[0]!, path: join(root, r[0]!), targets: { quality }, prompt: r[1]!, group: r[1]! }, where);
  });
  return b.finish('AIGIQA-20K', ['quality'], [0, 5]);
}

/**
 * A user's own ratings: a CSV with a header `path,mos[,prompt][,group][,generator]`; relative paths are
 * relative to the CSV's folder. `group` (default: the prompt) keeps related images on one side of a split;
 * `generator` names the model that made the image (reports break metrics down by it).
 */
export function loadGenericCsv(csvPath: string, options: LoadOptions = {}): Dataset {
  const [header, ...rows] = readCsv(csvPath);
  const col = columns(header, ['path', 'mos'], csvPath);
  const b = new DatasetBuilder(csvPath, options);
  const scale: [number, number] = [Infinity, -Infinity];
  rows.forEach((r, i) => {
    const where = `line ${i + 2}`;
    const path = r[col.path!]?.trim() ?? '';
    const quality = b.number(r[col.mos!], 'mos', where);
    if (!path) return void b.problems.push(`${where}: empty path`);
    if (quality === undefined) return;
    scale[0] = Math.min(scale[0], quality);
    scale[1] = Math.max(scale[1], quality);
    const prompt = col.prompt === undefined ? undefined : r[col.prompt];
    const group = (col.group === undefined ? undefined : r[col.group]) || prompt || undefined;
    const generator = col.generator === undefined ? undefined : r[col.generator]?.trim();
    b.add({ id: path, path: isAbsolute(path) ? path : join(dirname(csvPath), path), targets: { quality },
      ...(prompt ? { prompt } : {}), ...(group ? { group } : {}), ...(generator ? { generator } : {}) }, where);
  });
  return b.finish(csvPath, ['quality'], scale);
}

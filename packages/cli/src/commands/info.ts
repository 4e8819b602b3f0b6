import { parseArgs } from 'node:util';

import { compiledDevices, DEMO_MODEL_DIR, headProvenance, loadBundle, resolveModel, untrainedWarning, type Bundle } from '@clip-agiqa/core';

import type { CliIO } from '../io.js';

export const INFO_USAGE = `Usage: clip-agiqa info [--model DIR|URL] [--json]

Shows a model bundle: backbone, preprocessing, heads with their score ranges and training provenance,
and every file with its checksum (all verified). Without --model: the untrained demo model.`;

function describe(b: Bundle): string {
  const m = b.manifest;
  const lines = [
    `${m.name}${b.untrained ? `   [${untrainedWarning({ name: m.name, untrained: true })}]` : ''}`,
    ...(m.description ? [`  ${m.description}`] : []),
    `  folder       ${b.dir}`,
    `  manifest     sha256 ${b.manifestSha256} (format ${m.format_version})`,
    `  licence      ${m.license}`,
    `  backbone     ${m.backbone.name} (${m.backbone.architecture}, embed dim ${m.backbone.embed_dim}, input ${m.backbone.image_size}px` +
      `${m.backbone.patch_size ? `, patch ${m.backbone.patch_size}` : ''}${m.backbone.trained === false ? ', random weights' : ''})`,
    `  preprocess   shortest edge -> ${m.preprocess.size} (${m.preprocess.interpolation}), centre crop ${m.preprocess.size}x${m.preprocess.size}, ` +
      `mean [${m.preprocess.mean.join(', ')}], std [${m.preprocess.std.join(', ')}], background rgb(${(m.preprocess.background ?? [255, 255, 255]).join(',')})`,
    `  image tower  ${Object.entries(m.image_encoder.files).map(([p, f]) => {
      const guard = m.image_encoder.accuracy?.[p];
      return `${p}: ${f}${guard ? ` (cosine to fp32 >= ${guard.min_cosine.toFixed(4)} on ${guard.images} ${guard.inputs ?? 'inputs'})` : ''}`;
    }).join(', ')}`,
    `  text tower   ${m.text_encoder ? `${m.text_encoder.file} (context ${m.text_encoder.context_length}, tokenizer ${m.text_encoder.tokenizer.kind})` : 'none'}`,
    `  heads`,
  ];
  for (const h of m.heads) {
    const t = h.training;
    const kind = headProvenance(h);
    const provenance = kind === 'zero-shot' ? `zero-shot (${(h.prompts ?? []).map((g) => g.join(' / ')).join('; ')})`
      : kind === 'untrained' ? 'untrained' : t ? [t.dataset, t.target, t.protocol].filter(Boolean).join(' / ') : 'trained';
    const metrics = t?.metrics ? ` ${Object.entries(t.metrics).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
    lines.push(`    ${h.name.padEnd(12)} ${h.kind}, scale [${h.score_range.join(', ')}], ${h.higher_is_better ? 'higher is better' : 'lower is better'}; ${provenance}${metrics}`);
  }
  lines.push('  files (sha256 verified)');
  for (const [file, e] of Object.entries(m.files)) lines.push(`    ${file.padEnd(28)} ${String(e!.bytes).padStart(10)} B  ${e!.sha256}`);
  lines.push(`  devices in this build: ${compiledDevices().join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export async function infoCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, strict: true });
  if (values.help) {
    io.stdout.write(`${INFO_USAGE}\n`);
    return 0;
  }
  const bundle = await loadBundle(await resolveModel(values.model ?? DEMO_MODEL_DIR));
  if (values.json) io.stdout.write(`${JSON.stringify({ dir: bundle.dir, manifest_sha256: bundle.manifestSha256, untrained: bundle.untrained, manifest: bundle.manifest }, null, 2)}\n`);
  else io.stdout.write(describe(bundle));
  return 0;
}

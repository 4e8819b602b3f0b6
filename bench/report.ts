// The benchmark's report: a per-machine summary against the peers, every configuration of ours, the
// peers' rows, accuracy guards and the targets, as Markdown.
import type { Device, Precision, Resampler } from '@clip-agiqa/core';

import { alignmentLine, type AlignmentResult } from './alignment.js';
import type { GuardResult, ProfileResult, ScorerResult } from './child.js';
import { describeCpu, type CpuInfo } from './cpu.js';
import type { PeerName, PeerRow } from './peers.js';

export interface Row {
  device: Device; precision: Precision; threads: number; batch: number; resampler: Resampler; r?: ScorerResult; error?: string;
  /** End-to-end rate of every run of this configuration, in order (r is the fastest run's). */
  runs?: number[];
}

export interface ReportInput {
  date: string;
  cpu: CpuInfo;
  memoryGiB: number;
  software: string;
  gflopPerImage: number;
  /** GEMM rate ONNX Runtime reaches here by precision and thread count (G(FL)OP/s). */
  gemm: Record<'fp32' | 'int8', Record<number, number>>;
  threads: number[];
  images: number;
  torchImages: number;
  /** Runs of each headline configuration, in alternating rounds (ours, then each peer). */
  rounds: number;
  rows: Row[];
  peers: PeerRow[];
  guards: GuardResult[];
  /** ONNX Runtime's per-operator profile of our towers (2 threads). */
  profiles: Partial<Record<'fp32' | 'int8', ProfileResult>>;
  /** Largest difference between an image's embedding alone and in a batch, as the export measured it. */
  batchDiff: Record<string, number | undefined>;
  /** Best-of-8 with and without a prompt, on a bundle with a text tower (absent: not measured). */
  alignment?: AlignmentResult | { error: string };
  seconds: number;
}

const f = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits));
const PEERS: PeerName[] = ['ONNX Runtime Python', 'transformers.js', 'PyTorch'];
/** Operators that are matrix products (float or integer), as opposed to normalisation, activations and data movement. */
const MATRIX_OPS = new Set(['MatMul', 'FusedMatMul', 'Gemm', 'Conv', 'MatMulInteger', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'QGemm',
  'ConvInteger', 'Attention', 'QAttention', 'MultiHeadAttention']);

/** One line per precision: the matrix products' share of the tower's time and the rate they reach, then the other operators. */
export function profileLines(profiles: ReportInput['profiles'], gflopPerImage: number, gemm: ReportInput['gemm']): string[] {
  return (['fp32', 'int8'] as const).flatMap((precision) => {
    const p = profiles[precision];
    if (!p) return [];
    const total = Object.values(p.ops).reduce((a, b) => a + b, 0);
    const matrix = Object.entries(p.ops).filter(([op]) => MATRIX_OPS.has(op)).reduce((a, [, ms]) => a + ms, 0);
    const rate = (p.batch * gflopPerImage) / (matrix / 1000);
    const others = Object.entries(p.ops).filter(([op]) => !MATRIX_OPS.has(op)).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([op, ms]) => `${op} ${f((100 * ms) / total, 1)}%`);
    const unit = precision === 'fp32' ? 'GFLOP/s' : 'GOP/s';
    return [`- ${precision}: ${f(p.run_ms, 0)} ms per batch of ${p.batch}; matrix products ${f((100 * matrix) / total, 0)}% of operator time, ` +
      `at ${f(rate, 0)} ${unit} (${f((100 * rate) / gemm[precision][2]!, 0)}% of the GEMM rate); the rest: ${others.join(', ')}`];
  });
}

/** Our fastest CPU configuration of a precision on 2 threads with the exact resampler. */
export function fastestRow(rows: Row[], precision: Precision): Row | undefined {
  const e2e = (row: Row) => row.r?.e2e_images_per_s ?? 0;
  return rows.filter((r) => r.r && r.device === 'cpu' && r.precision === precision && r.threads === 2 && r.resampler === 'pil')
    .reduce<Row | undefined>((a, b) => (!a || e2e(b) > e2e(a) ? b : a), undefined);
}

/** A peer's fastest configuration of a precision on 2 threads. */
export function fastestPeer(peers: PeerRow[], peer: PeerName, precision: 'fp32' | 'int8'): PeerRow | undefined {
  return peers.filter((p) => p.peer === peer && p.precision === precision && p.threads === 2 && p.e2e)
    .reduce<PeerRow | undefined>((a, b) => (!a || b.e2e! > a.e2e! ? b : a), undefined);
}

function runsOf(ours: { fp32?: Row; int8?: Row }, peerBest: (peer: PeerName, precision: 'fp32' | 'int8') => PeerRow | undefined): string {
  const list = (runs: number[] | undefined) => (runs ?? []).map((r) => f(r, 2)).join(', ');
  return (['fp32', 'int8'] as const).flatMap((p) => [
    ...(ours[p]?.runs ? [`clip-agiqa ${p} ${list(ours[p]!.runs)}`] : []),
    ...PEERS.map((peer) => peerBest(peer, p)).filter((q) => q?.runs).map((q) => `${q!.peer} ${p} ${list(q!.runs)}`),
  ]).join('; ');
}

export function buildReport(input: ReportInput): { markdown: string; targets: string[] } {
  const { cpu, rows, peers, gflopPerImage, gemm } = input;
  const peak = (precision: 'fp32' | 'int8', threads: number) =>
    (threads * cpu.mhz * 1e6 * (precision === 'fp32' ? cpu.fp32FlopPerCycle : cpu.int8OpsPerCycle)) / 1e9;
  const e2e = (row: Row) => row.r?.e2e_images_per_s ?? 0;
  const best = (precision: Precision) => fastestRow(rows, precision);
  const peerBest = (peer: PeerName, precision: 'fp32' | 'int8') => fastestPeer(peers, peer, precision);
  /** PyTorch's best end-to-end rate on this many threads; NaN when it did not run, so no ratio to it passes. */
  const torchBest = (threads: number) => {
    const rates = peers.filter((p) => p.peer === 'PyTorch' && p.threads === threads && p.e2e).map((p) => p.e2e!);
    return rates.length ? Math.max(...rates) : NaN;
  };

  const ours = { fp32: best('fp32'), int8: best('int8') };
  const cell = (rate: number | undefined, batch: number | undefined) => (rate ? `${f(rate, 2)} (b${batch})` : '—');
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${f(a / b, 2)}×` : '—');
  const summary = [
    `### ${cpu.kind}: ${cpu.name}, ${cpu.cores} cores, ${input.date}`,
    '',
    `${describeCpu(cpu)}. ${input.software}. 2 threads, each at its best batch size (b), ${input.images} AGIQA-3K images (PyTorch: ${input.torchImages}). ` +
      (input.rounds > 1 ? `Each row is the fastest of ${input.rounds} runs, taken in alternating rounds (ours, then each peer), so that a slow spell of a shared ` +
        'machine does not fall on one side only; the runs are listed below the table.' : 'One run each.'),
    '',
    '| | fp32 img/s | fp32 tower alone | int8 img/s | int8 tower alone | clip-agiqa fp32 ÷ | clip-agiqa int8 ÷ | clip-agiqa best ÷ |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| clip-agiqa | ${cell(e2e(ours.fp32!), ours.fp32?.batch)} | ${f(ours.fp32?.r?.tower_images_per_s, 2)} | ${cell(ours.int8 && e2e(ours.int8), ours.int8?.batch)} | ` +
      `${f(ours.int8?.r?.tower_images_per_s, 2)} | | | |`,
    ...PEERS.map((peer) => {
      const [pf, pi] = [peerBest(peer, 'fp32'), peerBest(peer, 'int8')];
      const peerTop = Math.max(pf?.e2e ?? 0, pi?.e2e ?? 0);
      const ourTop = Math.max(e2e(ours.fp32!), ours.int8 ? e2e(ours.int8) : 0);
      return `| ${peer}${peer === 'transformers.js' ? ' (int8: q8)' : ''} | ${cell(pf?.e2e, pf?.batch)} | ${f(pf?.tower, 2)} | ${cell(pi?.e2e, pi?.batch)} | ${f(pi?.tower, 2)} | ` +
        `${ratio(e2e(ours.fp32!), pf?.e2e)} | ${ratio(ours.int8 && e2e(ours.int8), pi?.e2e)} | ${ratio(ourTop, peerTop || undefined)} |`;
    }),
    ...(input.rounds > 1 ? ['', `Runs (end-to-end img/s, in order): ${runsOf(ours, peerBest)}.`] : []),
  ];

  const table = [
    '| device | precision | threads | batch | resize | img/s | tower alone img/s | e2e / tower | p50 ms | p95 ms | preprocess ms/img | pack | tower | heads | peak RSS MB | tower G(FL)OP/s | of GEMM rate | of nominal peak | × PyTorch best |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => {
      const head = `| ${row.device} | ${row.precision} | ${row.threads} | ${row.batch} | ${row.resampler} |`;
      const r = row.r;
      if (!r) return `${head} not run: ${row.error} |${' |'.repeat(13)}`;
      const rate = r.tower_images_per_s * gflopPerImage;
      const kind = row.precision === 'int8' ? 'int8' : 'fp32';
      const cpuOnly = (x: number) => (row.device === 'cpu' ? `${f(x, 0)}%` : '');
      return `${head} ${f(r.e2e_images_per_s, 2)} | ${f(r.tower_images_per_s, 2)} | ${f((100 * r.e2e_images_per_s) / r.tower_images_per_s, 0)}% | ${f(r.latency_p50_ms, 0)} | ` +
        `${f(r.latency_p95_ms, 0)} | ${f(r.preprocess_ms_per_image)} | ${f(r.pack_ms_per_image)} | ${f(r.tower_ms_per_image)} | ${f(r.heads_ms_per_image, 2)} | ` +
        `${f(r.peak_rss_mb, 0)} | ${f(rate, 0)} | ${cpuOnly((100 * rate) / gemm[kind][row.threads]!)} | ${cpuOnly((100 * rate) / peak(kind, row.threads))} | ` +
        `${f(r.e2e_images_per_s / torchBest(row.threads), 2)} |`;
    }),
  ];
  const peerTable = ['| peer | precision | threads | batch | img/s | tower alone img/s | peak RSS MB | max \\|Δ score\\| to clip-agiqa fp32 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...peers.map((p) => `| ${p.peer} | ${p.precision} | ${p.threads} | ${p.batch} | ${p.error ? `not run: ${p.error}` : f(p.e2e, 2)} | ${f(p.tower, 2)} | ${f(p.peakRssMb, 0)} | ` +
      `${p.maxScoreDiff?.toExponential(1) ?? '–'} |`)];
  const guardLines = input.guards.map((g) => `- ${g.precision}: embedding cosine to fp32 min ${g.min_cosine.toFixed(5)}, mean ${g.mean_cosine.toFixed(5)}; ` +
    `quality score drift max ${g.max_score_drift.toExponential(2)}, mean ${g.mean_score_drift.toExponential(2)} (${g.images} images); ` +
    `an image alone vs in a batch: max embedding difference ${input.batchDiff[g.precision]?.toExponential(1) ?? 'not recorded'}`);

  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const fp32Ratio = e2e(ours.fp32!) / torchBest(2);
  const reduced = ours.int8;
  const reducedGuard = input.guards.find((g) => g.precision === 'int8');
  const reducedRatio = reduced ? e2e(reduced) / torchBest(2) : 0;
  const invariant = (input.batchDiff.int8 ?? Infinity) <= 1e-5;
  const hidden = (row: Row) => e2e(row) / row.r!.tower_images_per_s;
  const fp32Rss = Math.max(...rows.filter((r) => r.r && r.device === 'cpu' && r.precision === 'fp32').map((r) => r.r!.peak_rss_mb));
  // Where end-to-end falls short of the tower, the profile says why: preprocessing's CPU time per image
  // against the tower's CPU time (its wall time on all its threads), on the same cores.
  const preprocessShare = (row: Row) => row.r!.preprocess_ms_per_image / (row.r!.preprocess_ms_per_image + row.r!.tower_ms_per_image * row.threads);
  const libvipsOf = (row: Row) => rows.find((r) => r.r && r.resampler === 'libvips' && r.precision === row.precision && r.threads === row.threads && r.batch === row.batch);
  const hiddenDetail = (row: Row) => {
    const lv = libvipsOf(row);
    // Rounded down, so that a share just under the 90% line never reads as 90%.
    const share = (r: Row) => (Math.floor(1000 * hidden(r)) / 10).toFixed(1);
    return `${row.precision} ${share(row)}% (preprocessing is ${f(100 * preprocessShare(row), 0)}% of the CPU time per image` +
      `${lv ? `; with resampler libvips ${share(lv)}%` : ''})`;
  };
  const peerTarget = (peer: PeerName, target: number) => {
    const parts = (['fp32', 'int8'] as const).map((p) => {
      const o = ours[p];
      const q = peerBest(peer, p);
      return o && q ? { p, r: e2e(o) / q.e2e! } : undefined;
    }).filter((x) => x !== undefined);
    if (!parts.length) return `- ≥ ${target}× ${peer} end to end: not measured`;
    // Where a ratio falls short, split it into the towers' ratio (graph and kernels) and the ratio of
    // end-to-end over tower-alone (preprocessing and pipelining): the two multiply to the whole.
    const why = parts.filter((x) => x.r < target).map(({ p }) => {
      const [o, q] = [ours[p]!, peerBest(peer, p)!];
      const [ot, qt] = [o.r!.tower_images_per_s, q.tower!];
      return `${p} is ${f(100 * (1 - parts.find((x) => x.p === p)!.r / target), 1)}% short: towers alone ${f(ot, 2)} vs ${f(qt, 2)} img/s (${f(ot / qt, 2)}×), ` +
        `end to end over tower alone ${f(100 * hidden(o), 0)}% vs ${f((100 * q.e2e!) / qt, 0)}% (${f(hidden(o) / (q.e2e! / qt), 2)}×)`;
    });
    return `- ≥ ${target}× ${peer} end to end (same precision, each at its best batch): ${parts.map((x) => `${x.p} ${f(x.r, 2)}×`).join(', ')} — ` +
      verdict(parts.every((x) => x.r >= target)) + (why.length ? `. ${why.join('; ')}` : '');
  };
  const targets = [
    `- fp32 end to end ≥ 1.5× PyTorch at its best batch size (2 threads): ${f(fp32Ratio, 2)}× (our batch ${ours.fp32?.batch}) — ${verdict(fp32Ratio >= 1.5)}`,
    `- best reduced precision ≥ 4× PyTorch, batch-invariant (≤ 1e-5), cosine ≥ 0.995: ${reduced ? `int8, batch ${reduced.batch}: ${f(reducedRatio, 2)}×, ` +
      `alone vs in a batch ${input.batchDiff.int8?.toExponential(1) ?? '?'}, cosine ≥ ${f(reducedGuard?.min_cosine, 5)}` : 'none'} — ` +
      verdict(reducedRatio >= 4 && invariant && (reducedGuard?.min_cosine ?? 0) >= 0.995),
    peerTarget('transformers.js', 1.2),
    peerTarget('ONNX Runtime Python', 1.1),
    `- end to end ≥ 90% of the tower alone (best 2-thread configurations): ${hiddenDetail(ours.fp32!)}${reduced ? `, ${hiddenDetail(reduced)}` : ''} — ` +
      verdict(hidden(ours.fp32!) >= 0.9 && (!reduced || hidden(reduced) >= 0.9)),
    `- peak RSS of a CPU scorer with the fp32 ViT-B/16 tower < 1.5 GB: at most ${f(fp32Rss, 0)} MB — ${verdict(fp32Rss < 1536)}`,
    ...(input.alignment ? ['error' in input.alignment ? `- scoring with a prompt: not measured (${input.alignment.error})` : alignmentLine(input.alignment)] : []),
  ];
  const rates = (p: 'fp32' | 'int8') => input.threads.map((t) => `${f(gemm[p][t], 0)} on ${t} thread${t > 1 ? 's' : ''}`).join(', ');
  const markdown = [
    '# clip-agiqa benchmark',
    '',
    '## Summary',
    '',
    ...summary,
    '',
    '## Machine',
    '',
    `${describeCpu(cpu)}, ${f(input.memoryGiB, 0)} GiB; ${input.software}. ViT-B/16-shaped image tower (random weights: speed does not depend on their values), ` +
      `${f(gflopPerImage, 1)} GFLOP per image (int8 rows count the same operations). GEMM rate (ONNX Runtime, four ViT-B/16 MLP MatMul pairs over a batch of 8): ` +
      `fp32 ${rates('fp32')} GFLOP/s; int8 (dynamic u8s8) ${rates('int8')} GOP/s. Nominal peaks at the listed clock (boost clocks go higher): ` +
      `fp32 ${f(peak('fp32', 1), 0)} / ${f(peak('fp32', 2), 0)} GFLOP/s (${cpu.fp32FlopPerCycle} FLOP/cycle/core), int8 ${f(peak('int8', 1), 0)} / ` +
      `${f(peak('int8', 2), 0)} GOP/s (${cpu.int8OpsPerCycle} op/cycle/core, ${cpu.vnni === 'none' ? 'no VNNI' : 'VNNI'}) on 1 / 2 cores.`,
    '',
    'preprocess: decode + orient + resize + crop, measured alone, one image at a time. pack, tower, heads: per image inside the scored run. ' +
      'p50/p95: single-image calls one after another. e2e / tower: end-to-end rate over the tower-alone rate at the same batch size and threads.',
    '',
    ...table,
    '',
    `Peers on the same weights and images (PyTorch: transformers' CLIPModel, torch.no_grad; ONNX Runtime Python: the bundle's towers, CLIP's PIL preprocessing; ` +
      'transformers.js: the same CLIP exported in its layout by `tools/export --layout transformers-js`, and the usual q8 file made from it (dynamic quantisation, ' +
      'one activation scale per batch), its own image loading and preprocessing; all with the bundle\'s head). The last column checks that each peer ran the same ' +
      'model: its scores against ours (fp32) on the same images; PIL-preprocessed fp32 peers agree to rounding, transformers.js\'s own resize and int8 move scores further.',
    '',
    ...peerTable,
    '',
    'Where the tower\'s time goes (ONNX Runtime\'s profile of our towers, 2 threads, random pixels, fastest profiled run):',
    ...profileLines(input.profiles, gflopPerImage, gemm),
    '',
    'Accuracy guards:',
    ...guardLines,
    '',
    'Targets:',
    ...targets,
    '',
    `The run took ${f(input.seconds, 0)} s.`,
  ].join('\n');
  return { markdown, targets };
}

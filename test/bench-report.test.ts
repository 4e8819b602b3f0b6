import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { alignmentLine, type AlignmentResult } from '../bench/alignment.js';
import type { ScorerResult } from '../bench/child.js';
import type { CpuInfo } from '../bench/cpu.js';
import type { PeerRow } from '../bench/peers.js';
import { buildReport, profileLines, type ReportInput, type Row } from '../bench/report.js';

const cpu: CpuInfo = {
  vendor: 'AuthenticAMD', family: 26, model: 2, name: 'AMD EPYC', kind: 'Zen 5', cores: 2, mhz: 2600, avx2: true, avx512: true, vnni: 'avx512',
  bf16: true, amx: false, fp32FlopPerCycle: 64, int8OpsPerCycle: 256,
};

function scored(e2e: number, tower: number): ScorerResult {
  return { images: 40, failed: 0, device: 'cpu', e2e_images_per_s: e2e, tower_images_per_s: tower, latency_p50_ms: null, latency_p95_ms: null,
    preprocess_ms_per_image: 3, pack_ms_per_image: 0.5, tower_ms_per_image: 1000 / tower, heads_ms_per_image: 0.4, peak_rss_mb: 800, scores: [] };
}

function input(peers: PeerRow[]): ReportInput {
  const rows: Row[] = [
    { device: 'cpu', precision: 'fp32', threads: 2, batch: 8, resampler: 'pil', r: scored(11.78, 12.46) },
    { device: 'cpu', precision: 'int8', threads: 2, batch: 8, resampler: 'pil', r: scored(31.69, 35.12) },
  ];
  return {
    date: '2026-11-30', cpu, memoryGiB: 24, software: 'test', gflopPerImage: 32.24, gemm: { fp32: { 1: 230, 2: 433 }, int8: { 1: 752, 2: 1329 } },
    threads: [1, 2], images: 40, torchImages: 32, rounds: 1, rows, peers, guards: [], batchDiff: { int8: 0 }, seconds: 1,
    profiles: { fp32: { batch: 8, run_ms: 650, ops: { MatMul: 560, FusedMatMul: 20, Add: 25, QuickGelu: 15, LayerNormalization: 9 } } },
  };
}

describe('benchmark report', () => {
  it('splits a missed peer ratio into the towers\' ratio and the end-to-end efficiencies, which multiply to it', () => {
    const peers: PeerRow[] = [
      { peer: 'ONNX Runtime Python', precision: 'fp32', threads: 2, batch: 8, e2e: 11.2, tower: 11.83 },
      { peer: 'ONNX Runtime Python', precision: 'int8', threads: 2, batch: 8, e2e: 25.9, tower: 30.22 },
    ];
    const line = buildReport(input(peers)).targets.find((t) => t.includes('ONNX Runtime Python'))!;
    assert.match(line, /fp32 1\.05×, int8 1\.22× — MISSED/);
    // 11.78 / 11.2 = 1.0518, 4.4% short of 1.1; towers 12.46 / 11.83 = 1.053; efficiencies 94.5% / 94.7%.
    assert.match(line, /fp32 is 4\.4% short: towers alone 12\.46 vs 11\.83 img\/s \(1\.05×\), end to end over tower alone 95% vs 95% \(1\.00×\)/);
    assert.doesNotMatch(line, /int8 is/, 'a ratio that meets the target is not explained');
    const [towers, efficiency] = [12.46 / 11.83, (11.78 / 12.46) / (11.2 / 11.83)];
    assert.ok(Math.abs(towers * efficiency - 11.78 / 11.2) < 1e-12);
  });

  it('never rounds an end-to-end share just under 90% up to the line', () => {
    const report = input([]);
    report.rows[1]!.r = scored(32.96, 36.63); // 89.98%
    const line = buildReport(report).targets.find((t) => t.startsWith('- end to end'))!;
    assert.match(line, /fp32 94\.5% .*int8 89\.9% .* — MISSED$/);
  });

  it('says nothing more where every ratio meets its target', () => {
    const peers: PeerRow[] = [{ peer: 'ONNX Runtime Python', precision: 'fp32', threads: 2, batch: 8, e2e: 10, tower: 11 }];
    const line = buildReport(input(peers)).targets.find((t) => t.includes('ONNX Runtime Python'))!;
    assert.match(line, /fp32 1\.18× — met$/);
  });

  it('says how many alternating runs each headline rate is the fastest of, and lists them', () => {
    const peers: PeerRow[] = [{ peer: 'ONNX Runtime Python', precision: 'fp32', threads: 2, batch: 8, e2e: 11.2, tower: 11.83, runs: [10.9, 11.2, 11.1] }];
    const report = input(peers);
    report.rounds = 3;
    report.rows[0]!.runs = [11.5, 11.78, 11.6];
    const { markdown } = buildReport(report);
    assert.match(markdown, /Each row is the fastest of 3 runs, taken in alternating rounds/);
    assert.match(markdown, /Runs \(end-to-end img\/s, in order\): clip-agiqa fp32 11\.50, 11\.78, 11\.60; ONNX Runtime Python fp32 10\.90, 11\.20, 11\.10\./);
    assert.doesNotMatch(buildReport(input(peers)).markdown, /Runs \(/, 'a single run lists nothing');
  });

  it('reports the matrix products\' share of the tower\'s time and the rate they reach against the GEMM rate', () => {
    const [line] = profileLines(input([]).profiles, 32.24, input([]).gemm);
    // Matrix products 580 of 629 ms = 92%; 8 images x 32.24 GFLOP in 0.58 s = 445 GFLOP/s = 103% of 433.
    assert.match(line!, /^- fp32: 650 ms per batch of 8; matrix products 92% of operator time, at 445 GFLOP\/s \(103% of the GEMM rate\)/);
    assert.match(line!, /the rest: Add 4\.0%, QuickGelu 2\.4%, LayerNormalization 1\.4%$/);
  });
});

describe('benchmark report: scoring with a prompt', () => {
  const measured = (quality: number, prompted: number): AlignmentResult => ({
    k: 8, jobs: 5, rounds: 3, threads: 2, quality_images_per_s: quality, prompted_images_per_s: prompted, quality_runs: [quality], prompted_runs: [prompted],
    quality_cpu_ms_per_image: 200, prompted_cpu_ms_per_image: 200 * (quality / prompted), text_ms_per_job: 61.4, failed: 0,
  });

  it('states both rates, their ratio against 90% and the text tower\'s time per job', () => {
    assert.match(alignmentLine(measured(10, 9.5)),
      /^- best-of-8 with one prompt \(quality \+ clipscore\) ≥ 90% of quality alone \(2 threads, 5 jobs × 3 alternating rounds, .*\): 9\.50 vs 10\.00 img\/s = 95\.0%; in CPU time per image 211 vs 200 ms = 95\.0%; text tower 61 ms per job — met$/);
  });

  it('never rounds a ratio just under 90% up to the line', () => {
    assert.match(alignmentLine(measured(10, 8.9996)), /= 89\.9%; .* — MISSED$/);
  });

  it('is a target of the full report when measured, and says why when it could not be', () => {
    const report = input([]);
    assert.ok(!buildReport(report).targets.some((t) => t.includes('prompt')), 'not measured, not listed');
    report.alignment = measured(10, 9.1);
    assert.ok(buildReport(report).targets.some((t) => t.startsWith('- best-of-8 with one prompt') && t.endsWith('met')));
    report.alignment = { error: 'no text tower' };
    assert.ok(buildReport(report).targets.includes('- scoring with a prompt: not measured (no text tower)'));
  });
});

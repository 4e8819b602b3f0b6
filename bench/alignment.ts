// What scoring against the prompt costs: best-of-8 jobs scored on quality alone, and the same jobs with
// their prompt (quality + clipscore: one text-tower run per job, then one dot product per image), in
// alternating rounds on one scorer, so a slow spell of a shared machine falls on both alike.
import { createScorer } from '@clip-agiqa/core';

export interface AlignmentTask {
  mode: 'alignment';
  /** A bundle with a text tower. */
  model: string;
  threads: number;
  images: string[];
  /** One prompt per job (images.length / 8 jobs); each round appends its number, so no job's prompt is cached. */
  prompts: string[];
  rounds: number;
}

export interface AlignmentResult {
  /** Images per job. */
  k: number;
  jobs: number;
  rounds: number;
  threads: number;
  /** Images per second, quality alone and with the prompt, each over all rounds. */
  quality_images_per_s: number;
  prompted_images_per_s: number;
  /** Each round's rates, in order. */
  quality_runs: number[];
  prompted_runs: number[];
  /** Process CPU time (user + system, all threads) per image, quality alone and with the prompt, over all rounds. */
  quality_cpu_ms_per_image: number;
  prompted_cpu_ms_per_image: number;
  /** Text-tower milliseconds per job with the prompt. */
  text_ms_per_job: number;
  failed: number;
}

export const ALIGNMENT_K = 8;
/** Scoring with the prompt keeps at least this share of the quality-only rate. */
export const ALIGNMENT_TARGET = 0.9;

export async function alignmentTask(t: AlignmentTask): Promise<AlignmentResult> {
  const jobs = Array.from({ length: Math.floor(t.images.length / ALIGNMENT_K) }, (_, j) => t.images.slice(j * ALIGNMENT_K, (j + 1) * ALIGNMENT_K));
  if (jobs.length === 0) throw new Error(`alignment needs at least ${ALIGNMENT_K} images`);
  const scorer = await createScorer({ model: t.model, threads: t.threads, batchSize: ALIGNMENT_K, verifyChecksums: false });
  try {
    if (!scorer.model.heads.some((h) => h.needsPrompt)) throw new Error(`${t.model} has no prompt head: export it with its text tower`);
    let failed = 0;
    const cpuMs = { quality: 0, prompted: 0 };
    const run = async (round: number, prompted: boolean, only = jobs): Promise<number> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (const [j, job] of only.entries()) {
        const r = await scorer.bestOf(job, prompted ? { prompt: `${t.prompts[j % t.prompts.length]}, take ${round}` } : {});
        failed += r.failed.length;
      }
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      cpuMs[prompted ? 'prompted' : 'quality'] += (used.user + used.system) / 1000;
      return (only.length * ALIGNMENT_K) / seconds;
    };
    await run(0, true, jobs.slice(0, 1)); // warm-up: both towers' first runs, the decode path
    cpuMs.prompted = 0;
    const quality: number[] = [];
    const prompted: number[] = [];
    const textBefore = scorer.stats().textMs;
    for (let round = 1; round <= t.rounds; round++) {
      // Alternate which goes first, so neither always follows the other's garbage or cache state.
      if (round % 2) {
        quality.push(await run(round, false));
        prompted.push(await run(round, true));
      } else {
        prompted.push(await run(round, true));
        quality.push(await run(round, false));
      }
    }
    const harmonic = (rates: number[]) => rates.length / rates.reduce((a, r) => a + 1 / r, 0);
    return {
      k: ALIGNMENT_K, jobs: jobs.length, rounds: t.rounds, threads: t.threads,
      quality_images_per_s: harmonic(quality), prompted_images_per_s: harmonic(prompted), quality_runs: quality, prompted_runs: prompted,
      quality_cpu_ms_per_image: cpuMs.quality / (jobs.length * ALIGNMENT_K * t.rounds), prompted_cpu_ms_per_image: cpuMs.prompted / (jobs.length * ALIGNMENT_K * t.rounds),
      text_ms_per_job: (scorer.stats().textMs - textBefore) / (jobs.length * t.rounds), failed,
    };
  } finally {
    await scorer.close();
  }
}

const f = (x: number, digits: number) => x.toFixed(digits);

// Shown rounded down, and compared unrounded: 89.96% is not 90%.
const percent = (ratio: number) => `${f(Math.floor(1000 * ratio) / 10, 1)}%`;

/**
 * The report's line: both rates and their ratio against the target, the same ratio in CPU time per image
 * (steadier than wall time where other work shares the cores), and the text tower's time per job.
 */
export function alignmentLine(r: AlignmentResult): string {
  const ratio = r.prompted_images_per_s / r.quality_images_per_s;
  const cpuRatio = r.quality_cpu_ms_per_image / r.prompted_cpu_ms_per_image;
  const met = ratio >= ALIGNMENT_TARGET;
  return `- best-of-${r.k} with one prompt (quality + clipscore) ≥ ${f(100 * ALIGNMENT_TARGET, 0)}% of quality alone (${r.threads} threads, ${r.jobs} jobs × ${r.rounds} ` +
    `alternating rounds, every job a prompt not seen before): ${f(r.prompted_images_per_s, 2)} vs ${f(r.quality_images_per_s, 2)} img/s = ${percent(ratio)}; ` +
    `in CPU time per image ${f(r.prompted_cpu_ms_per_image, 0)} vs ${f(r.quality_cpu_ms_per_image, 0)} ms = ${percent(cpuRatio)}; ` +
    `text tower ${f(r.text_ms_per_job, 0)} ms per job — ${met ? 'met' : 'MISSED'}`;
}

/** A CSV line's cells: quoted cells may hold commas, and "" for a quote. */
function csvCells(line: string): string[] {
  return [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!));
}

/** What AGIQA-3K's data.csv says each image was generated from (name -> prompt), for realistic prompts. */
export function agiqaPrompts(csv: string): Map<string, string> {
  const [header, ...rows] = csv.trim().split(/\r?\n/).map(csvCells);
  const [name, prompt] = [header!.indexOf('name'), header!.indexOf('prompt')];
  return new Map(rows.map((c) => [c[name]!, c[prompt]!]));
}

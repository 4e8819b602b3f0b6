import { writeAtomically } from '@clip-agiqa/core/internal';
import { buildScoreReport, type BuildScoreReportOptions, type ScoreReportData } from '@clip-agiqa/report';

/** Writes the score report to `path` atomically (a reader never sees half a page); returns its size in bytes. */
export async function writeScoreReport(path: string, data: ScoreReportData, options: BuildScoreReportOptions = {}): Promise<number> {
  const html = await buildScoreReport({ generatedAt: new Date().toISOString(), ...data }, options);
  await writeAtomically(path, html);
  return Buffer.byteLength(html);
}

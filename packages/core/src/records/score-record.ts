import type { ScoreRecord } from '../generated/score-record.js';
import type { ScoreOutcome } from '../results.js';
import type { ModelInfo } from '../scorer.js';

export type ScoredRecord = Extract<ScoreRecord, { scores: unknown }>;
export type ModelStamp = NonNullable<ScoredRecord['model']>;

/** What a record may add to the scores: the pass mark against a threshold, the rank, the model that scored. */
export interface RecordExtras {
  passed?: boolean;
  rank?: number;
  model?: ModelStamp;
}

/** A score outcome as the wire record schemas/score-record.schema.json describes: the scores, or the typed error. */
export function toScoreRecord(outcome: ScoreOutcome, path: string, extras: RecordExtras = {}): ScoreRecord {
  if ('error' in outcome) return { path, error: { code: outcome.error.code, message: outcome.error.message } };
  return { path, scores: outcome.scores, ...(outcome.prompt === undefined ? {} : { prompt: outcome.prompt }), ...extras };
}

/** The model part of a record kept beside or inside an image (sidecars, metadata). */
export function modelStamp(model: ModelInfo): ModelStamp {
  return { name: model.name, manifest_sha256: model.manifestSha256, trained: !model.untrained };
}

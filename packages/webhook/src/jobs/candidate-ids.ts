import type { WebhookJob } from '../generated/webhook-job.js';

/** A candidate's own id: the one it was sent with, else its position. */
export const candidateId = (job: WebhookJob, i: number): string => job.candidates[i]!.id ?? String(i);

/** The ids each candidate has in the verdict: its own, or for a 2x2 grid its four quarters `<id>-1`...`<id>-4`. */
export function verdictIds(job: WebhookJob): string[][] {
  return job.candidates.map((cand, i) => {
    const id = candidateId(job, i);
    return cand.grid === '2x2' ? [1, 2, 3, 4].map((k) => `${id}-${k}`) : [id];
  });
}

/** The first id two verdict entries would share (a repeated candidate id, or one equal to a grid quarter's), or null. */
export function sharedVerdictId(job: WebhookJob): string | null {
  const seen = new Set<string>();
  for (const id of verdictIds(job).flat()) {
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return null;
}

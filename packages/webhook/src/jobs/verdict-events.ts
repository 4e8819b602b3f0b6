import { EventEmitter } from 'node:events';

import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import type { ScoringInput } from './scoring-input.js';

/** A job scored: what came in, on which route, with which images, and the verdict. */
export interface ScoredJob {
  job: WebhookJob;
  images: ScoringInput[];
  route: string | undefined;
  verdict: WebhookVerdict;
}

/**
 * Told of every verdict as it is made (synchronous and queued jobs alike), for what watches the service
 * without taking part in scoring: the status pages. A listener that throws is the listener's problem.
 */
export class VerdictEvents extends EventEmitter<{ verdict: [ScoredJob]; error: [Error] }> {
  constructor() {
    super({ captureRejections: true });
    this.on('error', () => undefined);
  }
}

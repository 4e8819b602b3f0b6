import type { FailedImage } from '../grid.js';

/** A candidate's image as scoring takes it: failed already, or its size (known from the header) and how to get its bytes. */
export type ScoringInput = FailedImage | {
  /** Encoded size in bytes. */
  bytes: number;
  pixels: number;
  load(): Promise<Buffer>;
  /** Called once the candidate is scored (gives back what holding its bytes cost). */
  done?(): void;
};

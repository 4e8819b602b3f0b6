import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';

export type JobState = 'queued' | 'scored' | 'delivered' | 'dead';

export interface Delivery {
  url: string;
  /** Sent as `webhook-id` on every attempt, so the receiver can drop duplicates. */
  webhookId: string;
  attempts: number;
  /** Epoch ms of the next attempt. */
  nextAt: number;
  lastError?: string;
  deliveredAt?: number;
}

/** Why a job is dead: the stage that kept failing, how often it was tried and its last error. */
export interface DeadCause {
  stage: 'score' | 'deliver';
  attempts: number;
  error: string;
  /** Epoch ms. */
  at: number;
}

/** A job accepted in asynchronous mode, from acceptance to delivery of its verdict. */
export interface JobRecord {
  id: string;
  route: string;
  state: JobState;
  /** The job as accepted; inline images are moved to blobs (`blobs[i]`) and their base64 dropped. */
  job: WebhookJob;
  /** Per candidate: the stored image's blob name, once it is here (inline at once, URLs when fetched). */
  blobs: (string | null)[];
  /** Per candidate: the stored image's size, read when it arrived (what scoring it will cost). */
  sizes?: ({ bytes: number; pixels: number } | null)[];
  /** Per candidate: why its image could not be had (fetch refused or failed). */
  fetchErrors: ({ code: string; message: string } | null)[];
  verdict?: WebhookVerdict;
  /** Failed attempts to fetch and score it so far (the scoring retry policy counts them). */
  scoreAttempts?: number;
  /** Set when the job is dead. */
  deadCause?: DeadCause;
  /** SHA-256 of the accepted request body: a retry with the same body gets the original answer. */
  requestHash?: string;
  delivery: Delivery;
  acceptedAt: number;
  updatedAt: number;
}

/** The answer to an accepted message, kept so that a retry of it gets the same answer without new work. */
export interface StoredAnswer {
  status: number;
  body: unknown;
  /** Epoch ms after which the message id is forgotten. */
  expiresAt: number;
}

/** What claiming a message id found: it is now ours, it was answered before, or another request holds it. */
export type Claim = { state: 'claimed' } | { state: 'answered'; answer: StoredAnswer } | { state: 'busy' };

/**
 * Where accepted jobs and pending deliveries live. Every write is durable when its promise resolves,
 * so a job is acknowledged only once it survives a crash. The single-machine implementation is a
 * journal on local disk; a deployment that outgrows one machine puts an existing queue (BullMQ on
 * Redis, or PostgreSQL) behind this same interface. Records go in and come out as copies: changing
 * one read from the store changes nothing until it is written back with `update`.
 */
export interface JobStore {
  /** Stores a new job; false when a job with this id already exists. */
  accept(record: JobRecord): Promise<boolean>;
  /** Stores the new state of a job. */
  update(record: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Jobs still to score or to deliver, oldest first. */
  unfinished(): Promise<JobRecord[]>;
  /** Dead jobs still within their retention (an operator's command lists and re-queues them; it may read all finished jobs). */
  dead(): Promise<JobRecord[]>;
  /** Stores the image of a job's candidate; returns its name (one blob per job and candidate, never shared). */
  putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string>;
  readBlob(name: string): Promise<Buffer>;
  /** Forgets the blobs of a finished job. */
  dropBlobs(record: JobRecord): Promise<void>;
  /**
   * Claims a message id (sender's webhook-id or idempotency key) for one request. A claim ends with
   * `settleMessage`: with the answer when the request was accepted (kept until its `expiresAt`), or
   * with null when it was refused, which frees the id for a retry. Claims not settled die with the process.
   */
  claimMessage(key: string, now?: number): Promise<Claim>;
  settleMessage(key: string, answer: StoredAnswer | null): Promise<void>;
  close(): Promise<void>;
}

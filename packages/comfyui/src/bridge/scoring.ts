import { isClipAgiqaError, isUsageError, type ErrorCode, type Scorer } from '@clip-agiqa/core';

import type { BridgeScoreRequest } from '../generated/bridge-client-message.js';
import { checkPolicy, decide } from './decision.js';
import { decodeImageFrame, type FrameError } from './frames.js';
import type { ResolvedBridgeOptions } from './options.js';
import type { Peer } from './protocol.js';
import type { bridgeStatus } from './status.js';

type Limits = Pick<ResolvedBridgeOptions, 'maxImages' | 'maxImageBytes' | 'maxPendingImages' | 'frameTimeoutMs'>;

/**
 * Score requests from their announcement to their answer: each is checked (size, image specs, policy),
 * admitted while the images in flight over all peers stay within the bound (else `busy`), completed by
 * its binary frames within the frame timeout, then scored in the scorer's shared micro-batcher and
 * decided by the one policy rule.
 */
export class ScoringRoom {
  /** Images accepted and not yet answered, over all peers. */
  pendingImages = 0;
  /** Requests whose images are all here, being scored. */
  readonly inScoring = new Set<Promise<void>>();
  closing = false;

  constructor(
    private readonly scorer: Scorer,
    private readonly limits: Limits,
    private readonly log: (line: Record<string, unknown>) => void,
    private readonly status: ReturnType<typeof bridgeStatus> | null,
  ) {}

  request(peer: Peer, m: BridgeScoreRequest): void {
    if (peer.pending.has(m.id)) return peer.fail('DUPLICATE_ID', `request ${m.id} is already in progress`, m.id);
    if (m.images.length > this.limits.maxImages) return peer.fail('TOO_MANY_IMAGES', `${m.images.length} images; at most ${this.limits.maxImages} per request`, m.id);
    const badSpec = m.images.findIndex((im) => (im.format === 'rgb') !== (im.width !== undefined && im.height !== undefined));
    if (badSpec >= 0) return peer.fail('BAD_REQUEST', `image ${badSpec}: rgb images need width and height, encoded ones have neither`, m.id);
    try {
      checkPolicy(m.policy, this.scorer.model);
    } catch (e) {
      if (!isUsageError(e)) throw e;
      return peer.fail(e.code as ErrorCode, e.message, m.id);
    }
    if (this.closing) return peer.send({ type: 'busy', id: m.id, retry_after_ms: 2000 });
    if (this.pendingImages + m.images.length > this.limits.maxPendingImages) return peer.send({ type: 'busy', id: m.id, retry_after_ms: 250 });
    this.pendingImages += m.images.length;
    const timer = setTimeout(() => {
      this.drop(peer, m.id);
      peer.fail('FRAMES_MISSING', `request ${m.id}: its images did not all arrive within ${this.limits.frameTimeoutMs} ms`, m.id);
    }, this.limits.frameTimeoutMs);
    peer.pending.set(m.id, { request: m, frames: new Array<Buffer | undefined>(m.images.length), received: 0, timer });
  }

  frame(peer: Peer, data: Buffer): void {
    let frame: ReturnType<typeof decodeImageFrame>;
    try {
      frame = decodeImageFrame(data);
    } catch (e) {
      return peer.fail('BAD_FRAME', (e as FrameError).message);
    }
    const p = peer.pending.get(frame.requestId);
    if (!p) return peer.fail('UNKNOWN_REQUEST', `a binary frame names request ${frame.requestId.slice(0, 128)}, which is not waiting for images`);
    const id = frame.requestId;
    if (frame.index >= p.frames.length || p.frames[frame.index]) {
      this.drop(peer, id);
      return peer.fail('BAD_FRAME', `request ${id}: image index ${frame.index} is out of range or sent twice`, id);
    }
    if (frame.image.length > this.limits.maxImageBytes) {
      this.drop(peer, id);
      return peer.fail('IMAGE_TOO_LARGE', `request ${id}: image ${frame.index} has ${frame.image.length} bytes; the limit is ${this.limits.maxImageBytes}`, id);
    }
    p.frames[frame.index] = frame.image;
    if (++p.received === p.frames.length) {
      clearTimeout(p.timer);
      peer.pending.delete(id);
      const job = this.answer(peer, p.request, p.frames as Buffer[]).finally(() => {
        this.pendingImages -= p.request.images.length;
        this.inScoring.delete(job);
      });
      this.inScoring.add(job);
    }
  }

  /** Forgets a request still waiting for images. */
  drop(peer: Peer, id: string): void {
    const p = peer.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    peer.pending.delete(id);
    this.pendingImages -= p.request.images.length;
  }

  private async answer(peer: Peer, request: BridgeScoreRequest, frames: Buffer[]): Promise<void> {
    // Raw pixels whose length does not fit their shape come back from the scorer as INVALID_PIXELS failures.
    const inputs = request.images.map((spec, i) => ({
      id: String(i),
      image: spec.format === 'rgb' ? { data: frames[i]!, width: spec.width!, height: spec.height!, channels: 3 as const } : frames[i]!,
      ...(spec.prompt === undefined ? {} : { prompt: spec.prompt }),
    }));
    try {
      // An image the deciding head cannot score (a prompt head, no prompt) fails with PROMPT_REQUIRED, saying why it is left out.
      const outcomes = await this.scorer.score(inputs, {
        ...(request.prompt === undefined ? {} : { prompt: request.prompt }),
        ...(request.policy.head === undefined ? {} : { requireHead: request.policy.head }),
      });
      const decision = decide(request.policy, outcomes, this.scorer.model);
      peer.send({
        type: 'result', id: request.id,
        scores: outcomes.map((s, index) => ('scores' in s ? { index, scores: s.scores } : { index, error: { code: s.error.code, message: s.error.message } })),
        decision,
      });
      this.status?.recordResult(peer.name ?? '', request.id, request.policy, outcomes.map((s) => ('scores' in s ? s.scores[decision.head] ?? null : null)), decision,
        inputs.map((i) => i.image));
    } catch (e) {
      // The scorer and the policy rule throw core's errors only.
      peer.fail(isClipAgiqaError(e) ? e.code as ErrorCode : 'INTERNAL', (e as Error).message, request.id);
      if (!isClipAgiqaError(e)) this.log({ level: 'error', msg: 'scoring failed', error: (e as Error).stack });
    }
  }
}

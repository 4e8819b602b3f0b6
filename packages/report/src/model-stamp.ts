import type { HeadInfo, ModelInfo } from '@clip-agiqa/core';

import { esc, stamp } from './html.js';

/** Trained: a head fitted to MOS; zero-shot: a prompt-only head on real CLIP weights; untrained: random weights. */
export type ModelKind = 'trained' | 'zero-shot' | 'untrained';

export interface ModelStamp {
  name: string;
  kind?: ModelKind;
  /** The bundle's manifest sha256. */
  digest?: string;
}

export function modelKind(model: Pick<ModelInfo, 'untrained'>, head?: Pick<HeadInfo, 'provenance'>): ModelKind {
  if (model.untrained) return 'untrained';
  return head?.provenance ?? 'trained';
}

export function stampOf(model: ModelInfo, head?: HeadInfo): ModelStamp {
  return { name: model.name, kind: modelKind(model, head), digest: model.manifestSha256 };
}

const KIND_BADGE: Record<ModelKind, string> = {
  trained: '<span class="badge pass">trained</span>',
  'zero-shot': '<span class="badge warn">zero-shot</span>',
  untrained: '<span class="badge fail">UNTRAINED: scores mean nothing</span>',
};

export function renderModelStamp(m: ModelStamp | undefined, extra: [string, string][] = []): string {
  const pairs: [string, string][] = m
    ? [['model', esc(m.name)], ['weights', m.kind ? KIND_BADGE[m.kind] : 'not recorded'],
        ['digest', m.digest ? `<code title="${esc(m.digest)}">sha256:${esc(m.digest.slice(0, 16))}…</code>` : 'not recorded']]
    : [['model', 'not recorded']];
  return stamp('model and run', [...pairs, ...extra]);
}

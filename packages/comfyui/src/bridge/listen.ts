import type { Server } from 'node:http';

import { ClipAgiqaError } from '@clip-agiqa/core';
import { listen as listenOrExplain } from '@clip-agiqa/core/internal';

/** The bridge could not listen where it was asked to: the reason, and what to do about it, on one line. */
export class BridgeListenError extends ClipAgiqaError<'BRIDGE_LISTEN_FAILED'> {
  constructor(message: string, cause?: Error) {
    super('BRIDGE_LISTEN_FAILED', message, { cause });
  }
}

/** Listens, or rejects with a BridgeListenError that says what to change. */
export function listen(http: Server, port: number, host: string): Promise<void> {
  return listenOrExplain(http, port, host, {
    holders: 'another clip-agiqa bridge, or another service',
    portSetting: '--port',
    afterPortChange: ` and point the nodes at it (CLIP_AGIQA_BRIDGE_URL=ws://${host}:PORT)`,
    hostSetting: '--host',
  }, (message, cause) => new BridgeListenError(message, cause));
}

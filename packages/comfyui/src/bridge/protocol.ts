import type { ErrorCode } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';
import type { WebSocket } from 'ws';

import { bridgeClientMessageSchema, type BridgeClientMessage, type BridgeScoreRequest } from '../generated/bridge-client-message.js';
import { bridgeServerMessageSchema, type BridgeErrorCode, type BridgeServerMessage } from '../generated/bridge-server-message.js';

export const BRIDGE_PROTOCOL = 1;

/** What an error reply may say: the bridge's own codes, or a clip-agiqa error met while checking or scoring. */
export type BridgeFailureCode = BridgeErrorCode | ErrorCode;

const validateClient = compileSchema<BridgeClientMessage>(bridgeClientMessageSchema);
const validateServer = compileSchema<BridgeServerMessage>(bridgeServerMessageSchema);
// One check per message kind: a message of a known type is told what is wrong with it as that kind, not
// what keeps it from being every other kind too (the oneOf's errors list every branch's).
const validateKind: Record<string, (data: unknown) => { ok: boolean; errors?: string[] }> = Object.fromEntries(
  ['hello', 'score'].map((kind) => [kind, compileSchema({ $ref: `${bridgeClientMessageSchema.$id}#/$defs/${kind}` })]));

/** A request waiting for its image frames. */
export interface Pending {
  request: BridgeScoreRequest;
  frames: (Buffer | undefined)[];
  received: number;
  timer: NodeJS.Timeout;
}

/** One connected client: its socket, who it said it is, and its requests waiting for images. */
export class Peer {
  name: string | null = null;
  alive = true;
  readonly pending = new Map<string, Pending>();

  constructor(readonly ws: WebSocket, readonly address: string, private readonly onFailure: (peer: Peer, code: BridgeFailureCode, message: string) => void) {}

  /** Sends a reply; one that breaks the protocol schema is a bug here, thrown rather than sent. */
  send(message: BridgeServerMessage): void {
    const checked = validateServer(message);
    if (!checked.ok) throw new Error(`bridge reply violates its schema: ${checked.errors.join('; ')}`);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  fail(code: BridgeFailureCode, message: string, id?: string): void {
    this.onFailure(this, code, message);
    this.send({ type: 'error', code, message, ...(id ? { id } : {}) });
  }
}

/** A text frame read: the message, or the error to answer (and the close code, for a protocol the bridge does not speak). */
export type ReadFrame =
  | { ok: true; message: BridgeClientMessage }
  | { ok: false; code: BridgeErrorCode; message: string; id?: string; close?: [number, string] };

export function readTextFrame(text: string): ReadFrame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { ok: false, code: 'MALFORMED_MESSAGE', message: 'a text frame is not JSON' };
  }
  const raw = message as { type?: unknown; protocol?: unknown; id?: unknown } | null;
  if (raw?.type === 'hello' && raw.protocol !== BRIDGE_PROTOCOL) {
    return { ok: false, code: 'UNSUPPORTED_PROTOCOL', message: `this bridge speaks protocol ${BRIDGE_PROTOCOL}, not ${String(raw.protocol)}`, close: [4002, 'unsupported protocol'] };
  }
  const checked = validateClient(message);
  if (!checked.ok) {
    const ofKind = typeof raw?.type === 'string' && Object.hasOwn(validateKind, raw.type) ? validateKind[raw.type]!(message).errors : undefined;
    return { ok: false, code: 'SCHEMA_VIOLATION', message: (ofKind ?? checked.errors).slice(0, 5).join('; '), ...(typeof raw?.id === 'string' ? { id: raw.id.slice(0, 128) } : {}) };
  }
  return { ok: true, message: checked.value };
}

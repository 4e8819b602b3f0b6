import type { Server } from 'node:http';

import { ClipAgiqaError } from '@clip-agiqa/core';

/** The bridge could not listen where it was asked to: the reason, and what to do about it, on one line. */
export class BridgeListenError extends ClipAgiqaError<'BRIDGE_LISTEN_FAILED'> {
  constructor(message: string) {
    super('BRIDGE_LISTEN_FAILED', message);
  }
}

function advice(e: NodeJS.ErrnoException, host: string, port: number): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use (another clip-agiqa bridge, or another service): stop it, or pick a free port with --port and point the nodes at it (CLIP_AGIQA_BRIDGE_URL=ws://${host}:PORT)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${host}: no network interface of this machine has that address; use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own addresses with --host`;
    case 'EACCES':
      return `listening on port ${port} needs privileges here: pick a port above 1023 with --port`;
    default:
      return `cannot listen on ${host}:${port}: ${e.message}`;
  }
}

/** Listens, or rejects with a BridgeListenError that says what to change. */
export function listen(http: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(new BridgeListenError(advice(e, host, port)));
    http.once('error', failed);
    http.listen(port, host, () => {
      http.off('error', failed);
      resolve();
    });
  });
}

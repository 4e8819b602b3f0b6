import type { Server } from 'node:net';

/** How a service tells its users to change where it listens (its flags, its configuration). */
export interface ListenHints {
  /** What else may hold the port, e.g. "another clip-agiqa bridge, or another service". */
  holders: string;
  /** Where the port is set, e.g. "--port". */
  portSetting: string;
  /** What else to do after moving to another port (clients to point at it), from " and ..."; may be empty. */
  afterPortChange: string;
  /** Where the host is set, e.g. "--host". */
  hostSetting: string;
}

/** Why listening failed and what to change, on one line. */
export function listenAdvice(e: NodeJS.ErrnoException, host: string, port: number, hints: ListenHints): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use (${hints.holders}): stop it, or pick a free port with ${hints.portSetting}${hints.afterPortChange}`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${host}: no network interface of this machine has that address; use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own addresses with ${hints.hostSetting}`;
    case 'EACCES':
      return `listening on port ${port} needs privileges here: pick a port above 1023 with ${hints.portSetting}`;
    default:
      return `cannot listen on ${host}:${port}: ${e.message}`;
  }
}

/** Listens, or rejects with the error `fail` makes of the advice above (each service has its own error code). */
export function listen(server: Server, port: number, host: string, hints: ListenHints, fail: (message: string, cause: Error) => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(fail(listenAdvice(e, host, port, hints), e));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

import type { Server } from 'node:net';

import { listen } from '@clip-agiqa/core/internal';

import { ListenError } from '../errors.js';

/** Listens where the configuration says, or rejects with a ListenError naming the port and where to change it. */
export function listenOrExplain(server: Server, port: number, host: string): Promise<void> {
  return listen(server, port, host, {
    holders: 'another clip-agiqa serve, or another service',
    portSetting: '--port or "port" in the configuration',
    afterPortChange: '',
    hostSetting: '--host or "host" in the configuration',
  }, (message, cause) => new ListenError(message, cause));
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { listenOrExplain } from '@clip-agiqa/webhook/internal';

/**
 * While the service waits for its store, its port already answers probes: /healthz 200 (the process is
 * alive, do not restart it yet), /readyz 503 with why (send it no traffic). Closed before the service listens.
 */
export async function startupHealth(host: string, port: number, why: () => string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const [status, body] = path === '/healthz' ? [200, { ok: true }] : path === '/readyz' ? [503, { ready: false, waiting_for: why() }] : [503, { error: { code: 'STARTING', message: why() } }];
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '5' } : {}) }).end(JSON.stringify(body));
  });
  await listenOrExplain(server, port, host);
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

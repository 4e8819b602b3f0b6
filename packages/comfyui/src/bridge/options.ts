import type { Scorer } from '@clip-agiqa/core';
import { jsonLineLog, type LogLine } from '@clip-agiqa/core/internal';

export interface BridgeOptions {
  scorer: Scorer;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Shared secret clients present in hello; without it any local client may connect. */
  token?: string;
  /** Images one request may carry (default 256). */
  maxImages?: number;
  /** Bytes one image frame may carry (default 64 MiB). */
  maxImageBytes?: number;
  /** Images accepted but not yet answered, over all clients; beyond, requests get `busy` (default 512). */
  maxPendingImages?: number;
  /** Ping interval; a peer that misses a pong by the next ping is dropped (default 15 s). */
  heartbeatMs?: number;
  /** How long a request may wait for its image frames (default 30 s). */
  frameTimeoutMs?: number;
  log?: (line: Record<string, unknown>) => void;
  name?: string;
  /**
   * Serve a read-only HTML status page at GET /status (default off): queue, throughput, recent verdicts
   * with thumbnails, errors. It asks for `token`; without one it is served on a loopback host only.
   */
  statusPage?: boolean;
}

/** Every default of the bridge, in one place. */
export const BRIDGE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8790,
  maxImages: 256,
  maxImageBytes: 64 << 20,
  maxPendingImages: 512,
  heartbeatMs: 15_000,
  frameTimeoutMs: 30_000,
  name: 'clip-agiqa-bridge',
  statusPage: false,
} as const;

export type ResolvedBridgeOptions = Required<Omit<BridgeOptions, 'token'>> & { token: string | undefined };

export function resolveBridgeOptions(o: BridgeOptions): ResolvedBridgeOptions {
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as BridgeOptions;
  const stderr = jsonLineLog();
  // Every line the bridge logs has a level and a message.
  return { ...BRIDGE_DEFAULTS, log: (line) => stderr(line as LogLine), ...defined, token: o.token };
}

import type { Scorer } from '@clip-agiqa/core';
import { constantTimeEqual } from '@clip-agiqa/core/internal';

import type { BridgeHello } from '../generated/bridge-client-message.js';
import { BRIDGE_PROTOCOL, type Peer } from './protocol.js';

export interface HelloContext {
  scorer: Scorer;
  token: string | undefined;
  name: string;
  limits: { max_images: number; max_image_bytes: number };
  log: (line: Record<string, unknown>) => void;
}

/** A hello: with the bridge's token (when it has one) the peer is named and welcomed, otherwise refused and closed (4001). */
export function onHello(peer: Peer, m: BridgeHello, o: HelloContext): void {
  if (o.token && !(m.token && constantTimeEqual(m.token, o.token))) {
    o.log({ level: 'warn', msg: `refused a client: ${m.token ? 'wrong' : 'missing'} token`, client: m.client, address: peer.address });
    peer.fail('UNAUTHORIZED', 'wrong or missing token');
    peer.ws.close(4001, 'unauthorized');
    return;
  }
  peer.name = m.client;
  const model = o.scorer.model;
  peer.send({
    type: 'welcome', protocol: BRIDGE_PROTOCOL, server: o.name,
    model: { name: model.name, untrained: model.untrained, digest: model.manifestSha256, heads: model.heads.map((h) => ({ name: h.name, score_range: [h.scoreRange[0], h.scoreRange[1]], higher_is_better: h.higherIsBetter })) },
    limits: o.limits,
  });
  o.log({ level: 'info', msg: 'client connected', client: m.client });
}

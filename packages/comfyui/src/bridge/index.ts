// The bridge: a websocket server in front of one scorer, for the ComfyUI node pack (or any client).
export { startBridge, BRIDGE_PROTOCOL } from './server.js';
export type { Bridge, BridgeOptions } from './server.js';
export { BRIDGE_DEFAULTS } from './options.js';
export type { BridgeFailureCode } from './protocol.js';
export { BridgeListenError } from './listen.js';
export { encodeImageFrame, decodeImageFrame, FrameError } from './frames.js';
export { decide } from './decision.js';
// A refused policy: the same class (and codes) as core's, wherever the policy was sent.
export { PolicyError } from '@clip-agiqa/core';
export type { BridgePolicy } from './decision.js';
export { bridgeClientMessageSchema } from '../generated/bridge-client-message.js';
export type { BridgeClientMessage, BridgeHello, BridgeImageSpec, BridgeScoreRequest } from '../generated/bridge-client-message.js';
export { bridgeServerMessageSchema } from '../generated/bridge-server-message.js';
export type { BridgeBusy, BridgeErrorCode, BridgeErrorMessage, BridgeResult, BridgeServerMessage, BridgeWelcome } from '../generated/bridge-server-message.js';

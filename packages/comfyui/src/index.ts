export { startBridge, BRIDGE_PROTOCOL } from './bridge/server.js';
export type { Bridge, BridgeOptions } from './bridge/server.js';
export { encodeImageFrame, decodeImageFrame, FrameError } from './bridge/frames.js';
export { decide, percentile, PolicyError } from './bridge/decision.js';
export { bridgeClientMessageSchema } from './generated/bridge-client-message.js';
export type { BridgeClientMessage, BridgeHello, BridgeImageSpec, BridgePolicy, BridgeScoreRequest } from './generated/bridge-client-message.js';
export { bridgeServerMessageSchema } from './generated/bridge-server-message.js';
export type { BridgeBusy, BridgeErrorMessage, BridgeResult, BridgeServerMessage, BridgeWelcome } from './generated/bridge-server-message.js';

export { WsHubModule } from './hub.module.js';
export { HubService } from './hub.service.js';
export type { HubEventHandler, HubHandlerContext } from './hub-dispatcher.js';
export { WsGateway, FrameId } from './hub.gateway.js';
export { WsHubSocketAdapter } from './hub-socket.adapter.js';
export { HubError } from './hub.errors.js';
export { WsHubOptionsError, resolveHubOptions } from './hub.options.js';
export { InMemoryHubAdapter } from './in-memory.adapter.js';
export { parseFrame, encodeFrame } from './hub-protocol.js';
export {
  WS_HUB_MODULE_OPTIONS,
  WS_HUB_ADAPTER,
  CloseCode,
  ErrorCode,
  ClientEvent,
  ServerEvent,
  DisconnectReason,
  HUB_SUBPROTOCOL,
  BEARER_SUBPROTOCOL_PREFIX,
  PROTOCOL_VERSION,
} from './hub.constants.js';
export type * from './hub-options.interface.js';
export type * from './hub-events.interface.js';
export type * from './hub-adapter.interface.js';
export type { HubEnvelope } from './hub-protocol.js';

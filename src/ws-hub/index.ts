export { WsHubModule } from './module/ws-hub.module.js';
export { HubService } from './core/hub.service.js';
export { WsGateway } from './gateway/ws.gateway.js';
export { FrameId } from './decorators/frame-id.decorator.js';
export { HubGateway } from './decorators/hub-gateway.decorator.js';
export { ConnectedClient, hubClientOf } from './decorators/connected-client.decorator.js';
export { DuplicateHandlerError } from './core/duplicate-handler.error.js';
export { HubMetrics } from './metrics/hub-metrics.js';
export { HubHealthIndicator, type HubHealthResult } from './health/hub.health.js';
export { WsHubSocketAdapter } from './socket/ws-hub-socket.adapter.js';
export { HubError } from './protocol/hub.error.js';
export { WsHubOptionsError, resolveHubOptions } from './options/resolve-options.js';
export { InMemoryHubAdapter } from './cluster/in-memory.adapter.js';
export { parseFrame, encodeFrame } from './protocol/envelope.js';
export {
  CloseCode,
  ErrorCode,
  ClientEvent,
  ServerEvent,
  DisconnectReason,
  HUB_SUBPROTOCOL,
  BEARER_SUBPROTOCOL_PREFIX,
  PROTOCOL_VERSION,
} from './protocol/constants.js';
export { WS_HUB_MODULE_OPTIONS, WS_HUB_ADAPTER } from './core/tokens.js';
export type * from './interfaces/options.interface.js';
export type { WsHubModuleAsyncOptions } from './module/module-definition.js';
export type * from './interfaces/events.interface.js';
export type * from './interfaces/cluster-adapter.interface.js';
export type { HubEnvelope } from './protocol/envelope.js';

/**
 * `ws-hub/client`: a browser and Node client for the ws-hub wire protocol v1 and its
 * recovery extension (session resume, missed messages). No dependencies;
 * runs on the global `WebSocket` or one passed as `options.WebSocket` (e.g. from `ws`).
 */
export { createHubClient } from './hub-client.js';
export { backoffDelay, RECONNECT_DEFAULTS } from './backoff.js';
export {
  CLIENT_TIMEOUT_CODE,
  CLOSE_POLICY,
  closePolicy,
  type HubCloseAction,
  type HubClosePolicy,
} from './close-policy.js';
export {
  HubClientError,
  HubDisconnectedError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from './errors.js';
export type {
  HubClientOptions,
  HubCloseCause,
  HubErrorData,
  HubEventMap,
  HubPosition,
  HubReconnectOptions,
  HubRequestOptions,
  HubRoomReply,
  HubState,
  HubStateChange,
  HubTimers,
  HubWebSocket,
  HubWebSocketConstructor,
  HubWelcome,
  HubWelcomeRecovery,
  WsHubClient,
} from './types.js';

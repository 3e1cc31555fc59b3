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
  HubQueueExpiredError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from './errors.js';
export type {
  HubBuiltInClientEvents,
  HubBuiltInReplies,
  HubClientEventsOf,
  HubDataArgs,
  HubReplyOf,
  HubRequestOptions,
  HubRoomReply,
  WsHubClient,
} from './api.js';
export type {
  HubClientOptions,
  HubCloseCause,
  HubErrorData,
  HubEventMap,
  HubGetToken,
  HubPosition,
  HubReconnectOptions,
  HubState,
  HubStateChange,
  HubTimers,
  HubTokenRefresh,
  HubWebSocket,
  HubWebSocketConstructor,
  HubWelcome,
  HubWelcomeRecovery,
} from './types.js';

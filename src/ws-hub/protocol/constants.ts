/**
 * The wire protocol's names and numbers, in one place. A leaf: imports nothing, so the
 * browser client (`ws-hub/client`) can share it.
 */

/** Version of the wire protocol; sent in the welcome frame and accepted as a subprotocol. */
export const PROTOCOL_VERSION = 1;
/** Subprotocol a browser offers next to `bearer.<token>` so the server has one to echo back. */
export const HUB_SUBPROTOCOL = 'ws-hub.v1';
/**
 * Subprotocol a client offers (next to `ws-hub.v1`) to ask for recovery: the server picks it
 * when its `recovery` option is on, and the connection then speaks the recovery extension.
 */
export const RECOVERY_SUBPROTOCOL = 'ws-hub.recovery';
/** Prefix of the subprotocol that carries a token from browsers, which cannot set headers. */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * Events the client sends: the built-in ones, reserved for the hub (no app gateway or
 * `HubService.handle()` may take them). Each has one handler, in `gateway/built-in-events.ts`
 * (`recover`: the delivery strategy's); the README's "Adding a built-in event" says what else.
 */
export const ClientEvent = {
  MESSAGE: 'message',
  PING: 'ping',
  JOIN: 'join',
  LEAVE: 'leave',
  /** First frame of a connection that negotiated recovery: the session and positions to resume. */
  RECOVER: 'recover',
  /** A new token for the open connection (`{"token": string}`), answered `refreshed`. */
  REFRESH: 'refresh',
} as const;

/** Events the server sends. */
export const ServerEvent = {
  WELCOME: 'welcome',
  ACK: 'ack',
  PONG: 'pong',
  ERROR: 'error',
  JOINED: 'joined',
  LEFT: 'left',
  /**
   * Recovery: offsets a recovering client must step over without an event, `{"pos":{...}}`:
   * a message that excluded it (`except`), or one it got already through another of its streams
   * (Redis Cluster: a multi-room broadcast arrives once per room).
   */
  SKIP: 'skip',
  /** The connection's token expires soon: send `refresh` with a new one. */
  EXPIRING: 'expiring',
  /** Answer to `refresh`: the token was accepted; carries the new expiry. */
  REFRESHED: 'refreshed',
} as const;

/** WebSocket close codes the hub uses (RFC 6455 section 7.4.1; 4000-4999 are the application's). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** The instance is draining (deploy): reconnect now, elsewhere; reason `server restarting`. */
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  /** Application code: the client gave up on an unanswered connect or ping (`ws-hub/client`). */
  CLIENT_TIMEOUT: 4000,
  /** Application code: authentication refused (`authFailure: 'close'`); reason `unauthorized`. */
  UNAUTHORIZED: 4401,
  /** Application code: origin refused (`authFailure: 'close'`); reason `forbidden origin`. */
  FORBIDDEN_ORIGIN: 4403,
  /** Application code: the session was resumed by a newer connection; reason `session resumed`. */
  SESSION_RESUMED: 4409,
  /** Application code: the connection's token expired without a refresh; reason `token expired`. */
  TOKEN_EXPIRED: 4440,
  /** Application code: the user's access was revoked (`revokeUser`/`revoke`); reason `revoked`. */
  REVOKED: 4441,
} as const;

/** Codes carried by `{"event":"error","data":{"code":...}}` frames. */
export const ErrorCode = {
  BAD_JSON: 'BAD_JSON',
  BAD_ENVELOPE: 'BAD_ENVELOPE',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  BINARY_UNSUPPORTED: 'BINARY_UNSUPPORTED',
  INTERNAL: 'INTERNAL',
  RATE_LIMITED: 'RATE_LIMITED',
  FORBIDDEN: 'FORBIDDEN',
  /** A handler's input was refused (an `HttpException` 400, e.g. `ValidationPipe`). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** A handler refused the caller's identity (an `HttpException` 401). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A handler found nothing for the request (an `HttpException` 404). */
  NOT_FOUND: 'NOT_FOUND',
  /**
   * The hub's backend (the recovery store: Redis) did not answer: nothing was done; the
   * request may be sent again.
   */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A handler threw `WsException` without a code of its own. */
  APP_ERROR: 'APP_ERROR',
  /** A `refresh` frame's token was refused by `authenticate`. */
  TOKEN_REFUSED: 'TOKEN_REFUSED',
  /** A `refresh` frame's token belongs to another user than the connection's. */
  TOKEN_USER_MISMATCH: 'TOKEN_USER_MISMATCH',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why a client left; carried by the disconnected stream. */
export const DisconnectReason = {
  CLIENT_CLOSED: 'client-closed',
  CONNECTION_LOST: 'connection-lost',
  HEARTBEAT_TIMEOUT: 'heartbeat-timeout',
  SERVER_SHUTDOWN: 'server-shutdown',
  SERVER_DISCONNECT: 'server-disconnect',
  SLOW_CONSUMER: 'slow-consumer',
  RATE_LIMITED: 'rate-limited',
  INVALID_FRAMES: 'invalid-frames',
  /** Too many frames whose handler failed unexpectedly (`maxHandlerFailures`). */
  HANDLER_FAILURES: 'handler-failures',
  PAYLOAD_TOO_LARGE: 'payload-too-large',
  PROTOCOL_ERROR: 'protocol-error',
  SESSION_RESUMED: 'session-resumed',
  /** Recovery: the client's stream lost continuity on this instance; it resumes (1012). */
  CONTINUITY_LOST: 'continuity-lost',
  RECOVER_TIMEOUT: 'recover-timeout',
  /** The connection's token expired without a refresh (closed with 4440). */
  TOKEN_EXPIRED: 'token-expired',
  /** The user's access was revoked (`revokeUser`/`revoke`, closed with 4441). */
  REVOKED: 'revoked',
} as const;
export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason] | string;

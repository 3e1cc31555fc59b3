/**
 * Types of `ws-hub/client`. The WebSocket shapes are declared structurally here (no DOM lib, no
 * `ws` types), so the client compiles in Node-only projects and accepts both the browser's
 * `WebSocket` and the `ws` package's.
 */

/** The part of a WebSocket instance the client uses (browser `WebSocket` and `ws` both fit). */
export interface HubWebSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // `any` so that both the DOM's and `ws`'s event types are accepted.
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /** Needed for recovery: the client sends its `recover` frame once open. */
  onopen?: ((event: any) => void) | null;
  /** The subprotocol the server picked (`ws-hub.recovery` turns recovery on). */
  readonly protocol?: string;
  /**
   * `ws`'s EventEmitter method (absent in browsers): the client listens to
   * `'unexpected-response'` to read the HTTP status and `Retry-After` of a refused handshake.
   */
  on?(event: string, listener: (...args: any[]) => void): unknown;
}

/** A WebSocket constructor: the global `WebSocket`, or `WebSocket` from the `ws` package. */
export type HubWebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => HubWebSocket;

/**
 * A map of event names to payload types, shared by server and client:
 * `interface ChatEvents { message: { text: string }; typing: { userId: string } }`.
 */
export type HubEventMap = Record<string, any>;

/** The `data` of the welcome frame: who this connection is and the server's limits. */
export interface HubWelcome {
  clientId: string;
  userId?: string;
  pingIntervalMs: number;
  protocol: number;
  maxPayloadBytes: number;
  /** On a connection that negotiated recovery: what was recovered (the credential is kept apart). */
  recovery?: HubWelcomeRecovery;
  /** When the connection's token expires (server epoch ms), if `authenticate` gave an expiry. */
  expiresAt?: number;
  /** The same, relative to when the welcome was sent (ms): immune to clock skew. */
  expiresInMs?: number;
  [key: string]: unknown;
}

/** A position in a stream as frames carry it: `[offset, epoch]`. */
export type HubPosition = [offset: number, epoch: string];

/** The welcome's `recovery` on a connection that negotiated it (its `session` is not exposed). */
export interface HubWelcomeRecovery {
  /** The session was resumed and nothing was missing in any stream the client presented. */
  recovered: boolean;
  /** Every stream the connection is in: its epoch, newest offset, and for those presented whether they were recovered. */
  streams: Record<string, { epoch: string; offset: number; recovered?: boolean }>;
  /** Rooms of the resumed session that `authorizeJoin` refused. */
  refusedRooms?: string[];
}

/** The `data` of an `error` frame. */
export interface HubErrorData {
  code: string;
  message: string;
  /** Sent by some errors, e.g. `BAD_REQUEST` from `ValidationPipe` (its messages). */
  details?: unknown;
}

export type HubState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Why the connection ended or is being retried:
 * - `user`: `close()` was called.
 * - `server`: the server closed with 1000 (no retry).
 * - `refused`: authentication or origin refused (4401, 4403, or HTTP 401/403 where the socket
 *   shows it: Node with `ws`), `getToken` failed for a refresh or after 4440, or the server
 *   refused a refreshed token; no retry.
 * - `policy`: the server closed with 1008 or 1009 (retried slowly): fix the client.
 * - `lost`: the connection dropped (1001, 1006, 1011, 1013, other codes).
 * - `unreachable`: several attempts in a row never opened (server down, or a handshake refused
 *   with an HTTP status, which browsers see only as 1006).
 * - `timeout`: no welcome in time after connecting, or no pong in time (code 4000).
 * - `token`: `getToken()` failed; retried.
 * - `invalid`: the WebSocket constructor threw (bad URL or token characters); no retry.
 * - `restart`: the server is draining (1012): reconnect after random(0, `restartDelayMs`).
 * - `expired`: the token expired without a refresh (4440): reconnect at once with a new token.
 * - `revoked`: the user's access was revoked (4441); no retry.
 * - `replaced`: a newer connection resumed this client's session (4409, recovery servers): it
 *   holds the session now; no retry.
 */
export type HubCloseCause =
  | 'user'
  | 'server'
  | 'refused'
  | 'policy'
  | 'lost'
  | 'unreachable'
  | 'timeout'
  | 'token'
  | 'invalid'
  | 'restart'
  | 'expired'
  | 'revoked'
  | 'replaced';

/** What `onState` listeners receive on every change. */
export type HubStateChange =
  | { state: 'connecting' }
  | {
      state: 'open';
      welcome: HubWelcome;
      /** As `client.recovered`: whether this open recovered everything missed (recovery servers only). */
      recovered: boolean | undefined;
    }
  | {
      state: 'reconnecting';
      /**
       * 1 for the first retry after a drop, then 2, 3, ... until a stable connection. A
       * `restart` (1012) is not counted: it reports the count as it is (0 after a stable one).
       */
      attempt: number;
      /** Wait before this attempt. */
      delayMs: number;
      code: number;
      reason: string;
      cause: HubCloseCause;
      willRetry: true;
    }
  | {
      state: 'closed';
      code: number;
      reason: string;
      cause: HubCloseCause;
      willRetry: false;
      /** Queued messages discarded because the client will not reconnect. */
      discarded: number;
    };

/** Timer functions, injectable for tests. Defaults: the global `setTimeout` / `clearTimeout`. */
export interface HubTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HubReconnectOptions {
  /** Backoff base: the first retry waits random(0, initialDelayMs). Default 500. */
  initialDelayMs: number;
  /** Backoff cap. Default 30 000. */
  maxDelayMs: number;
  /** The attempt counter resets once a connection stays open this long. Default 10 000. */
  stableAfterMs: number;
  /** After a 1012 (the server is draining) the retry waits random(0, restartDelayMs). Default 1000. */
  restartDelayMs: number;
}

/** Returns the token for the next attempt or in-band refresh; nothing means no token. */
export type HubGetToken = () => string | undefined | Promise<string | undefined>;

/** What `onTokenRefresh` listeners receive after each in-band refresh. */
export interface HubTokenRefresh {
  /** `tokenExpiresAt` after the refresh. */
  expiresAt: number | undefined;
  ok: boolean;
  /** Why it failed: `getToken`'s error, `HubRequestError` (`TOKEN_REFUSED`, ...), a timeout, a drop. */
  error?: unknown;
}

export interface HubClientOptions {
  /** WebSocket constructor. Default: the global `WebSocket`; in Node < 22 pass `ws`'s. */
  WebSocket?: HubWebSocketConstructor;
  /** Token sent as the `bearer.<token>` subprotocol. */
  token?: string;
  /**
   * Called before every attempt and for every in-band refresh (one call at a time); wins over
   * `token`.
   */
  getToken?: HubGetToken;
  /** Connect at once. `false`: the client waits, `closed`, for `connect()`. Default true. */
  autoConnect?: boolean;
  reconnect?: Partial<HubReconnectOptions>;
  /** Attempts in a row that never opened before the cause becomes `unreachable`. Default 3. */
  unreachableAfter?: number;
  /**
   * Queue for `send`/`request`/`join` while not open; `false` fails fast. `maxAgeMs`: how long
   * an item may wait for a connection (then `HubQueueExpiredError`; `Infinity`: forever).
   * Default `{ maxMessages: 100, maxAgeMs: 30 000 }`.
   */
  queue?: false | { maxMessages?: number; maxAgeMs?: number };
  /** Default `request` timeout, counted from when the request is written. Default 10 000. */
  requestTimeoutMs?: number;
  /** Time from creating the socket to the welcome frame. Default 10 000. */
  connectTimeoutMs?: number;
  /** Application ping interval; 0 disables pings. Default: the welcome's `pingIntervalMs`. */
  pingIntervalMs?: number;
  /** With no frame this long after a ping, the connection is dead. Default 10 000. */
  pongTimeoutMs?: number;
  /**
   * Resume the session and receive missed messages after a reconnect, when the server has
   * `recovery` on (offers `ws-hub.recovery` next to `ws-hub.v1`). Default true.
   */
  recovery?: boolean;
  /**
   * Called with what a listener threw and the event's name (`onState`, `onRejoinError`, ... for
   * the client's own listeners). Default: `reportError` where it exists (browsers), else
   * `console.error`. Never rethrown: a listener cannot break the client or its process.
   */
  onListenerError?: (error: unknown, event: string) => void;
  /** Injectable for tests. */
  timers?: HubTimers;
  /** Injectable for tests. Default `Math.random`. */
  random?: () => number;
}

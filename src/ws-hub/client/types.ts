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
}

export type HubState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Why the connection ended or is being retried:
 * - `user`: `close()` was called.
 * - `server`: the server closed with 1000 (no retry).
 * - `refused`: authentication or origin refused (4401, 4403); no retry.
 * - `policy`: the server closed with 1008 or 1009 (retried slowly): fix the client.
 * - `lost`: the connection dropped (1001, 1006, 1011, 1013, other codes).
 * - `unreachable`: several attempts in a row never opened (server down, or a handshake refused
 *   with an HTTP status, which browsers see only as 1006).
 * - `timeout`: no welcome in time after connecting, or no pong in time (code 4000).
 * - `token`: `getToken()` failed; retried.
 * - `invalid`: the WebSocket constructor threw (bad URL or token characters); no retry.
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
  | 'invalid';

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
      /** 1 for the first retry after a drop, then 2, 3, ... until a stable connection. */
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
}

export interface HubClientOptions {
  /** WebSocket constructor. Default: the global `WebSocket`; in Node < 22 pass `ws`'s. */
  WebSocket?: HubWebSocketConstructor;
  /** Token sent as the `bearer.<token>` subprotocol. */
  token?: string;
  /** Called before every attempt (refreshes expiring tokens); wins over `token`. */
  getToken?: () => string | undefined | Promise<string | undefined>;
  reconnect?: Partial<HubReconnectOptions>;
  /** Attempts in a row that never opened before the cause becomes `unreachable`. Default 3. */
  unreachableAfter?: number;
  /** Queue for `send`/`request` while not open; `false` fails fast. Default `{ maxMessages: 100 }`. */
  queue?: false | { maxMessages?: number };
  /** Default `request` timeout. Default 10 000. */
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
  /** Injectable for tests. */
  timers?: HubTimers;
  /** Injectable for tests. Default `Math.random`. */
  random?: () => number;
}

export interface HubRequestOptions {
  timeoutMs?: number;
}

/** Reply data of `join` and `leave`. */
export interface HubRoomReply {
  room: string;
  /** On a recovery connection: where the client starts in the room's stream. */
  pos?: HubPosition;
}

/** The client returned by `createHubClient`. */
export interface WsHubClient<
  S extends HubEventMap = HubEventMap,
  C extends HubEventMap = HubEventMap,
  R extends HubEventMap = HubEventMap,
> {
  readonly state: HubState;
  /** Welcome data of the current (or last) connection; `undefined` before the first open. */
  readonly welcome: HubWelcome | undefined;
  /** Rooms joined; rejoined after every reconnect. */
  readonly rooms: ReadonlySet<string>;
  /**
   * On a server with recovery: after each open, whether the session was resumed with every
   * missed message (they follow, passed to listeners with `replayed` true); `false` means the
   * app should refetch its state. `undefined` on servers without recovery.
   */
  readonly recovered: boolean | undefined;
  /** Every state change; returns an unsubscribe function. */
  onState(listener: (change: HubStateChange) => void): () => void;
  /** Error frames that answer no pending request. */
  on(event: 'error', listener: (error: HubErrorData) => void): () => void;
  /**
   * Server pushes. On a recovery connection `replayed` says whether the message is one missed
   * while disconnected, replayed after a resume (`undefined` on plain v1).
   */
  on<E extends keyof S & string>(
    event: E,
    listener: (data: S[E], replayed?: boolean) => void,
  ): () => void;
  /** A room the client could not rejoin after a reconnect (refused rooms are forgotten). */
  onRejoinError(listener: (room: string, error: Error) => void): () => void;
  /** A `send`/`request` refused because the queue was full. */
  onQueueFull(listener: (message: { event: string; data: unknown }) => void): () => void;
  /** Fire and forget. Throws `HubQueueFullError`, or `HubDisconnectedError` when not queued. */
  send<E extends keyof C & string>(event: E, data?: C[E]): void;
  /** Resolves with the reply's `data`. */
  request<E extends keyof C & string>(
    event: E,
    data?: C[E],
    options?: HubRequestOptions,
  ): Promise<E extends keyof R ? R[E] : unknown>;
  join(room: string): Promise<HubRoomReply>;
  leave(room: string): Promise<HubRoomReply>;
  /** Closes for good: no retry, pending requests reject, timers cleared. */
  close(): void;
}

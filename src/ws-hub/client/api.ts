/**
 * The client's API as its users see it: `WsHubClient` and the typing of event maps (the
 * built-in events stay typed next to the app's; `data` is required where the map requires it).
 */
import type {
  HubErrorData,
  HubEventMap,
  HubGetToken,
  HubPosition,
  HubState,
  HubStateChange,
  HubTokenRefresh,
  HubWelcome,
} from './types.js';

export interface HubRequestOptions {
  timeoutMs?: number;
}

/** Reply data of `join` and `leave`. */
export interface HubRoomReply {
  room: string;
  /** On a recovery connection: where the client starts in the room's stream. */
  pos?: HubPosition;
}

/** What every hub understands, typed even when the app's maps leave it out. */
export interface HubBuiltInClientEvents {
  /** Echoed back as the `ack`'s data. */
  message: unknown;
  ping: void;
  join: { room: string };
  leave: { room: string };
}

/** Replies to the built-in events. */
export interface HubBuiltInReplies {
  message: unknown;
  ping: { ts: number };
  join: HubRoomReply;
  leave: HubRoomReply;
}

/** The app's client events plus the built-in ones it does not redefine. */
export type HubClientEventsOf<C extends HubEventMap> = Omit<HubBuiltInClientEvents, keyof C> & C;

/** The reply to `E`: the app's `Replies`, else the built-in reply, else `unknown`. */
export type HubReplyOf<R extends HubEventMap, E> = E extends keyof R
  ? R[E]
  : E extends keyof HubBuiltInReplies
    ? HubBuiltInReplies[E]
    : unknown;

/** `data` as the map types it: required, unless its type accepts `undefined` (or is `void`). */
export type HubDataArgs<T> = undefined extends T ? [data?: T] : [data: T];

/** The client returned by `createHubClient`. */
export interface WsHubClient<
  S extends HubEventMap = HubEventMap,
  C extends HubEventMap = HubEventMap,
  R extends HubEventMap = HubEventMap,
> {
  readonly state: HubState;
  /** Welcome data of the current (or last) connection; `undefined` before the first open. */
  readonly welcome: HubWelcome | undefined;
  /**
   * Rooms the client is in or joining: added by `join()` at once, rejoined after every
   * reconnect, removed by `leave()` or a server refusal only. The same object until it changes.
   */
  readonly rooms: ReadonlySet<string>;
  /**
   * On a server with recovery: after each open, whether the session was resumed with every
   * missed message (they follow, passed to listeners with `replayed` true); `false` means the
   * app should refetch its state. `undefined` on servers without recovery.
   */
  readonly recovered: boolean | undefined;
  /** When the token expires (local clock: receive time + `expiresInMs`); `undefined` without expiry. */
  readonly tokenExpiresAt: number | undefined;
  /** Every state change; returns an unsubscribe function. */
  onState(listener: (change: HubStateChange) => void): () => void;
  /**
   * Resolves with the welcome once open (at once if open); rejects with `HubDisconnectedError`
   * if the client closes first (at once if closed). It waits through reconnects: race it with
   * a timer to bound the wait.
   */
  ready(): Promise<HubWelcome>;
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
  /** As `on`, for the next one only. */
  once(event: 'error', listener: (error: HubErrorData) => void): () => void;
  once<E extends keyof S & string>(
    event: E,
    listener: (data: S[E], replayed?: boolean) => void,
  ): () => void;
  /** Removes a listener added with `on` or `once`. */
  off(event: (keyof S & string) | 'error', listener: (...args: any[]) => void): void;
  /** Every push and unanswered error frame, whatever its event. */
  onAny(listener: (event: string, data: unknown, replayed?: boolean) => void): () => void;
  /** A room the client could not rejoin after a reconnect (refused rooms are forgotten). */
  onRejoinError(listener: (room: string, error: Error) => void): () => void;
  /** A `send`/`request`/`join` refused because the queue was full. */
  onQueueFull(listener: (message: { event: string; data: unknown }) => void): () => void;
  /** Every change of `rooms` (for `useSyncExternalStore`). */
  onRooms(listener: (rooms: ReadonlySet<string>) => void): () => void;
  /** After each in-band token refresh. */
  onTokenRefresh(listener: (refresh: HubTokenRefresh) => void): () => void;
  /**
   * Fire and forget. Resolves once written to a socket; rejects like `request`
   * (`HubQueueFullError`, `HubQueueExpiredError`, `HubDisconnectedError`, `HubRequestError`
   * `PAYLOAD_TOO_LARGE`), never unhandled when ignored.
   */
  send<E extends keyof HubClientEventsOf<C> & string>(
    event: E,
    ...data: HubDataArgs<HubClientEventsOf<C>[E]>
  ): Promise<void>;
  /** Resolves with the reply's `data`. */
  request<E extends keyof HubClientEventsOf<C> & string>(
    event: E,
    ...args: [...HubDataArgs<HubClientEventsOf<C>[E]>, options?: HubRequestOptions]
  ): Promise<HubReplyOf<R, E>>;
  /** Remembers the room (rejoined after every reconnect) and joins it now or once connected. */
  join(room: string): Promise<HubRoomReply>;
  leave(room: string): Promise<HubRoomReply>;
  /**
   * Starts connecting: after `close()` or a stop, or with `autoConnect: false`; while waiting
   * to reconnect, retries at once. Rooms are kept.
   */
  connect(): void;
  /** Replaces `token` / `getToken` for the next attempts (rooms and session are kept). */
  setToken(token: string | HubGetToken | undefined): void;
  /** Closes for good (until `connect()`): no retry, queued and pending requests reject, timers cleared. */
  close(): void;
}

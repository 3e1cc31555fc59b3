import type { IncomingMessage } from 'node:http';
import type { Type } from '@nestjs/common';
import type { HubAdapter, HubAdapterFactory } from './cluster-adapter.interface.js';

/** Who is behind a connection, as decided by `authenticate` at the handshake. */
export interface HubPrincipal {
  /** Stable id of the user; one user may hold several connections. */
  userId: string;
  /**
   * When the connection's token expires, in epoch milliseconds (a JWT's `exp` times 1000).
   * Before it the hub sends `expiring` and the client answers with `refresh`; past it without
   * a valid refresh the connection is closed with 4440 `token expired`. Absent: never expires.
   * Anything but a number in the future refuses the handshake (or the refresh) like a bad token.
   */
  expiresAt?: number;
  /** Any further claims (roles, tenant, ...), kept on the client as given. */
  [claim: string]: unknown;
}

/** What `authenticate` is given besides the upgrade request. */
export interface HubHandshakeContext {
  /** The token found in `Authorization: Bearer`, `Sec-WebSocket-Protocol: bearer.<t>` or `?token=`, in that order. */
  token: string | undefined;
  /**
   * Where the token came from; `'refresh'`: a `refresh` frame on an open connection (the
   * request is then the connection's upgrade request).
   */
  tokenSource: 'authorization' | 'subprotocol' | 'query' | 'refresh' | undefined;
  /** Remote IP address of the peer. */
  remoteAddress: string;
}

/**
 * Decides at the HTTP upgrade whether a connection may open. Return a principal to accept,
 * `null`/`undefined`/`false` to answer HTTP 401. A thrown error answers HTTP 500.
 */
export type HubAuthenticateFn = (
  request: IncomingMessage,
  context: HubHandshakeContext,
) => HubPrincipal | null | undefined | false | Promise<HubPrincipal | null | undefined | false>;

/** An injectable class that authenticates handshakes (give its class as `authenticate`). */
export interface HubAuthenticator {
  authenticate: HubAuthenticateFn;
}

/** What `authorizeJoin` is given. */
export interface HubJoinContext {
  clientId: string;
  userId: string | undefined;
  principal: HubPrincipal | undefined;
  room: string;
}

/** Decides whether a client may join a room; `false` answers the error frame `FORBIDDEN`. */
export type HubAuthorizeJoinFn = (context: HubJoinContext) => boolean | Promise<boolean>;

/** An injectable class that authorizes room joins (give its class as `authorizeJoin`). */
export interface HubJoinAuthorizer {
  authorizeJoin: HubAuthorizeJoinFn;
}

/** Per-connection token bucket for incoming frames. */
export interface HubRateLimitOptions {
  /** Sustained rate refilled into the bucket, in frames per second. */
  messagesPerSecond: number;
  /** Bucket size: frames a client may send at once after being idle. */
  burst: number;
  /**
   * Rate-limited frames (answered `RATE_LIMITED`) tolerated within 10 s; one more closes the
   * connection with 1008. Default 20.
   */
  maxViolations?: number;
}

/** Redis settings for the built-in Redis adapter (import `ws-hub/redis` types for details). */
export interface HubRedisOptions {
  /** `redis://` or `rediss://` URL; ignored when `client` is given. */
  url?: string;
  /** An existing ioredis client to publish and run commands with (the hub duplicates it to subscribe and never closes it). */
  client?: unknown;
  /** Prefix of every key and channel, so several hubs can share one Redis. Default `ws-hub`. */
  keyPrefix?: string;
  /** How often this instance refreshes its presence, in milliseconds. Default 2000. */
  heartbeatIntervalMs?: number;
  /** After how long without a refresh an instance counts as dead, in milliseconds; must exceed `heartbeatIntervalMs`. Default 6000. */
  instanceTimeoutMs?: number;
  /** How long startup waits for Redis before carrying on and connecting in the background, in milliseconds. Default 5000. */
  initTimeoutMs?: number;
  /** Longest wait for a presence read before answering with this instance alone, in milliseconds. Default 1000. */
  commandTimeoutMs?: number;
  /** Cap of the reconnect backoff, in milliseconds. Default 1000. */
  reconnectMaxDelayMs?: number;
  /** Extra ioredis options for the connections the adapter creates from `url`. */
  redisOptions?: Record<string, unknown>;
  /**
   * Redis Cluster mode (Redis 7, sharded pub/sub): the startup nodes, and extra ioredis
   * `Cluster` options. Used instead of `url`; a given `Cluster` client as `client` does the same.
   */
  cluster?: { nodes: { host: string; port: number }[]; clusterOptions?: Record<string, unknown> };
}

export interface WsHubModuleOptions {
  /** WebSocket endpoint path on the app's HTTP server; must start with `/`. Default `/ws`. */
  path?: string;
  /** Interval between server pings, in milliseconds. Default 25000. */
  pingIntervalMs?: number;
  /** Ping rounds a client may stay silent (no pong, no frame) before it is terminated. Default 2. */
  maxMissedPongs?: number;
  /** Largest incoming frame, in bytes; larger ones close the connection with 1009. Default 65536. */
  maxPayloadBytes?: number;
  /** Send the welcome frame on connect. Default true. */
  welcome?: boolean;
  /**
   * How long shutdown (and a drain) waits for clients to answer their close, in milliseconds.
   * Default 3000.
   */
  shutdownTimeoutMs?: number;
  /**
   * Drain (`HubService.drain()`, and the start of every shutdown): the health indicator reports
   * `down` at once, new handshakes get HTTP 503 with `Retry-After: 1`, and the clients are
   * closed with 1012 `server restarting` in batches (every 50 ms) spread over this many
   * milliseconds, so that they reconnect to the other instances at a rate those can take (a
   * client closed with 1012 reconnects within `ws-hub/client`'s `restartDelayMs`). 0 closes
   * them all at once. Default 5000.
   */
  drainMs?: number;
  /**
   * Most handshakes (new connections and resumes) this instance accepts per second; past it
   * the handshake gets HTTP 503 with a `Retry-After` that spreads the refused clients over the
   * next seconds at this rate (`ws-hub/client` honours it). Bursts of up to one second's worth
   * are let through. Default: unlimited.
   */
  maxHandshakesPerSecond?: number;
  /** Negotiate permessage-deflate (costs CPU and memory per socket). Default false. */
  perMessageDeflate?: boolean;

  /** Handshake authentication: a function or an injectable class. Default: none (everyone is let in). */
  authenticate?: HubAuthenticateFn | Type<HubAuthenticator>;
  /** Longest `authenticate` may take before the handshake gets HTTP 503, in milliseconds. Default 10000. */
  authenticateTimeoutMs?: number;
  /**
   * How long before a connection's token expires (`expiresAt` of the principal) the hub sends
   * it `expiring`, asking for a `refresh`, in milliseconds; or at half of the token's remaining
   * lifetime if that is later (a token shorter than this is not refreshed in a loop); up to a
   * quarter of that lead earlier at random (connections opened together do not refresh
   * together). Default 60000.
   */
  tokenRefreshBeforeMs?: number;
  /** Origins (e.g. `https://app.example.com`) allowed to connect; others get HTTP 403. Default: all. */
  allowedOrigins?: string[];
  /** When `allowedOrigins` is set, whether handshakes without an `Origin` header (non-browser clients) are let in. Default true. */
  allowMissingOrigin?: boolean;
  /**
   * How a handshake refused for authentication or origin is answered: `'http'` answers HTTP 401 /
   * 403 with no upgrade; `'close'` completes the upgrade and closes at once with 4401
   * `unauthorized` / 4403 `forbidden origin`, so that browsers (which see a refused handshake
   * only as 1006) can tell a refusal from an outage, at the cost of an upgrade per refused
   * attempt; `'auto'` closes for clients that offer the `ws-hub.v1` subprotocol (`ws-hub/client`
   * always does: it then stops instead of retrying a token that will be refused again) and
   * answers HTTP to the others (plain `ws` clients, curl, scanners). Load limits (429, 503)
   * always answer HTTP. Default `'auto'`.
   */
  authFailure?: 'auto' | 'http' | 'close';
  /** Most open connections on this instance; past it the handshake gets HTTP 503. Default: unlimited. */
  maxConnections?: number;
  /** Most open connections per remote IP; past it the handshake gets HTTP 429. Default: unlimited. */
  maxConnectionsPerIp?: number;
  /** Reads the client IP for `maxConnectionsPerIp` (e.g. from `X-Forwarded-For` behind a trusted proxy). Default: the socket's remote address. */
  clientIp?: (request: IncomingMessage) => string;
  /** Per-connection rate limit on incoming frames, or `false` for none. Default 100/s, burst 200. */
  rateLimit?: HubRateLimitOptions | false;
  /** Invalid frames (bad JSON, bad envelope, unknown event, binary) tolerated within 10 s; one more closes with 1008. Default 20. */
  maxInvalidFrames?: number;
  /**
   * Frames whose handler failed unexpectedly (answered `INTERNAL`: an exception that is not a
   * `HubError`, `WsException` or 4xx `HttpException`) tolerated per connection within 10 s;
   * one more closes it with 1011 `too many failed frames`. Default 10.
   */
  maxHandlerFailures?: number;
  /** Bytes a client's outgoing buffer may hold before `slowConsumer` applies. Default 1048576 (1 MiB). */
  maxBufferedBytes?: number;
  /**
   * Cork each socket written to until the current operation ends, so that several frames to
   * it in a row (a burst of broadcasts) leave in one write: measured 5x less CPU per delivery
   * for bursts of 10 broadcasts, within noise for single ones (bench/RESULTS.md). Default true.
   */
  coalesceWrites?: boolean;
  /** Past `maxBufferedBytes`: `'drop'` skips messages for that client, `'close'` closes it with 1013. Default `'close'`. */
  slowConsumer?: 'drop' | 'close';

  /** Decides whether a client may join a room: a function or an injectable class. Default: any room. */
  authorizeJoin?: HubAuthorizeJoinFn | Type<HubJoinAuthorizer>;
  /** Most rooms one client may be in; past it `join` answers `FORBIDDEN`. Default 100. */
  maxRoomsPerClient?: number;
  /**
   * Cross-instance adapter: an instance, or a factory (`{ useFactory }`) the module runs once at
   * startup. Default: the in-memory adapter (one instance).
   */
  adapter?: HubAdapter | HubAdapterFactory;
  /**
   * Use the built-in Redis adapter (needs `ioredis`): sugar for `adapter: redisAdapterFactory(...)`
   * (`ws-hub/redis`). Ignored when `adapter` is given.
   */
  redis?: HubRedisOptions;
  /**
   * Prometheus metrics through `prom-client` (an optional peer: `npm install prom-client`):
   * `true` for the defaults, or options. Default: off.
   */
  metrics?: boolean | HubMetricsOptions;
  /**
   * Message recovery: streams with offsets, bounded history and resumable sessions, for clients
   * that negotiate the `ws-hub.recovery` subprotocol (`ws-hub/client` does). `true` for the
   * defaults, or options. Default: off (the wire protocol is then exactly v1).
   */
  recovery?: boolean | HubRecoveryOptions;
}

/** Options of message recovery. */
export interface HubRecoveryOptions {
  /** Messages kept per stream (older ones are trimmed). Default 300. */
  historySize?: number;
  /** How long a message stays recoverable, in milliseconds. Default 300000 (5 min). */
  historyTtlMs?: number;
  /**
   * How long after a disconnect its session can be resumed, in milliseconds; at most
   * `historyTtlMs`. Default 120000 (2 min).
   */
  sessionTtlMs?: number;
  /**
   * Most messages one resume replays, over all its streams; when more are missing the answer is
   * `recovered: false` (and the streams' tops) without reading them. Default 1000.
   */
  maxReplayMessages?: number;
  /** Most bytes of frames one resume replays; past it, `recovered: false`. Default 1048576 (1 MiB). */
  maxReplayBytes?: number;
}

/** The parts of a `prom-client` `Registry` the hub uses (typed here so `prom-client` stays optional). */
export interface HubMetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
  registerMetric(metric: any): void;
  removeSingleMetric(name: string): void;
}

/** Options of the Prometheus metrics. */
export interface HubMetricsOptions {
  /** Registry to register on. Default: `prom-client`'s global `register` (the app's). */
  registry?: HubMetricsRegistry;
  /** Prefix of every metric name. Default `ws_hub_`. */
  prefix?: string;
  /** Export the event-loop delay (`<prefix>event_loop_delay_seconds`), sampled every 20 ms. Default true. */
  eventLoopDelay?: boolean;
  /**
   * The app's own error codes (`HubError`, `WsException({ code })`), each counted under its own
   * `code` label of `<prefix>errors_total`. Other app codes get a label of their own up to 20
   * distinct ones, then count under `OTHER`, so that codes built from input cannot create
   * series without bound. Default none.
   */
  errorCodes?: string[];
}

/** Implemented by a class given as `useClass`/`useExisting` to `forRootAsync`. */
export interface WsHubOptionsFactory {
  createWsHubOptions(): WsHubModuleOptions | Promise<WsHubModuleOptions>;
}

export interface WsHubModuleExtras {
  /** Register `HubService` globally so every module can inject it. Default true. */
  isGlobal?: boolean;
}

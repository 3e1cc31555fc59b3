import type {
  HubRateLimitOptions,
  WsHubModuleExtras,
  WsHubModuleOptions,
} from '../interfaces/options.interface.js';
import {
  resolveMetrics,
  resolveRecovery,
  type ResolvedMetricsOptions,
  type ResolvedRecoveryOptions,
} from './feature-options.js';
import { WsHubOptionsError } from './options.error.js';
import { bool, positiveInt } from './option-checks.js';
import { show } from './validators.js';
import { resolveDeployOptions, type ResolvedDeployOptions } from './deploy-options.js';

export { WsHubOptionsError };
import {
  DEFAULT_AUTHENTICATE_TIMEOUT_MS,
  DEFAULT_MAX_ROOMS_PER_CLIENT,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_INVALID_FRAMES,
  DEFAULT_MAX_HANDLER_FAILURES,
  DEFAULT_MAX_MISSED_PONGS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PATH,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_TOKEN_REFRESH_BEFORE_MS,
} from './defaults.js';

/** Options with every default applied; what the providers work with. */
export type ResolvedHubOptions = Required<
  Pick<
    WsHubModuleOptions,
    | 'path'
    | 'pingIntervalMs'
    | 'maxMissedPongs'
    | 'maxPayloadBytes'
    | 'welcome'
    | 'shutdownTimeoutMs'
    | 'perMessageDeflate'
    | 'allowMissingOrigin'
    | 'maxConnections'
    | 'maxConnectionsPerIp'
    | 'maxInvalidFrames'
    | 'maxHandlerFailures'
    | 'maxBufferedBytes'
    | 'slowConsumer'
    | 'maxRoomsPerClient'
    | 'authenticateTimeoutMs'
    | 'tokenRefreshBeforeMs'
    | 'authFailure'
    | 'coalesceWrites'
  >
> &
  Pick<
    WsHubModuleOptions,
    'authenticate' | 'allowedOrigins' | 'clientIp' | 'authorizeJoin' | 'adapter' | 'redis'
  > & {
    rateLimit: Required<HubRateLimitOptions> | false;
    /** Resolved recovery options, or false when off. */
    recovery: ResolvedRecoveryOptions | false;
    /** Resolved metrics options, or false when off. */
    metrics: ResolvedMetricsOptions | false;
  } & ResolvedDeployOptions;

/**
 * Every option name, checked by the compiler against `WsHubModuleOptions` both ways, so a new
 * option cannot be forgotten here nor a stale one kept.
 */
const OPTION_KEYS: Record<keyof WsHubModuleOptions | keyof WsHubModuleExtras, true> = {
  path: true,
  pingIntervalMs: true,
  maxMissedPongs: true,
  maxPayloadBytes: true,
  welcome: true,
  shutdownTimeoutMs: true,
  drainMs: true,
  maxHandshakesPerSecond: true,
  perMessageDeflate: true,
  authenticate: true,
  authenticateTimeoutMs: true,
  tokenRefreshBeforeMs: true,
  allowedOrigins: true,
  allowMissingOrigin: true,
  authFailure: true,
  maxConnections: true,
  maxConnectionsPerIp: true,
  clientIp: true,
  rateLimit: true,
  maxInvalidFrames: true,
  maxHandlerFailures: true,
  maxBufferedBytes: true,
  slowConsumer: true,
  authorizeJoin: true,
  maxRoomsPerClient: true,
  adapter: true,
  redis: true,
  metrics: true,
  coalesceWrites: true,
  recovery: true,
  isGlobal: true,
};

function optionalLimit(name: string, value: unknown): number {
  if (value === undefined || value === null || value === Infinity) return Infinity;
  return positiveInt(name, value, Infinity, 'connections');
}

function fnOrClass(name: string, value: unknown, method: string): void {
  if (value === undefined) return;
  if (typeof value !== 'function') {
    throw new WsHubOptionsError(name, `must be a function or an injectable class with ${method}()`);
  }
}

/** Validates user options and fills in defaults; throws `WsHubOptionsError` naming the option. */
export function resolveHubOptions(options: WsHubModuleOptions | undefined): ResolvedHubOptions {
  const o = (options ?? {}) as WsHubModuleOptions & Record<string, unknown>;
  if (typeof o !== 'object') {
    throw new WsHubOptionsError('options', 'must be an object');
  }
  for (const key of Object.keys(o)) {
    if (!Object.hasOwn(OPTION_KEYS, key))
      throw new WsHubOptionsError(key, 'is not a ws-hub option');
  }

  let path = o.path ?? DEFAULT_PATH;
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new WsHubOptionsError('path', `must be a string starting with "/", got ${show(path)}`);
  }
  // Nest matches the upgrade pathname exactly, so "/ws/" would never match a request for "/ws".
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '');

  let rateLimit: ResolvedHubOptions['rateLimit'];
  if (o.rateLimit === false) {
    rateLimit = false;
  } else if (o.rateLimit === undefined) {
    rateLimit = { ...DEFAULT_RATE_LIMIT };
  } else if (typeof o.rateLimit !== 'object' || o.rateLimit === null) {
    throw new WsHubOptionsError('rateLimit', 'must be { messagesPerSecond, burst } or false');
  } else {
    rateLimit = {
      messagesPerSecond: positiveInt(
        'rateLimit.messagesPerSecond',
        o.rateLimit.messagesPerSecond,
        NaN,
        'frames per second',
      ),
      burst: positiveInt('rateLimit.burst', o.rateLimit.burst, NaN, 'frames'),
      maxViolations: positiveInt(
        'rateLimit.maxViolations',
        o.rateLimit.maxViolations,
        DEFAULT_RATE_LIMIT.maxViolations,
        'frames',
      ),
    };
    if (Number.isNaN(rateLimit.messagesPerSecond) || Number.isNaN(rateLimit.burst)) {
      throw new WsHubOptionsError('rateLimit', 'needs both messagesPerSecond and burst');
    }
  }

  if (o.slowConsumer !== undefined && o.slowConsumer !== 'drop' && o.slowConsumer !== 'close') {
    throw new WsHubOptionsError(
      'slowConsumer',
      `must be "drop" or "close", got ${show(o.slowConsumer)}`,
    );
  }
  if (
    o.authFailure !== undefined &&
    o.authFailure !== 'auto' &&
    o.authFailure !== 'http' &&
    o.authFailure !== 'close'
  ) {
    throw new WsHubOptionsError(
      'authFailure',
      `must be "auto", "http" or "close", got ${show(o.authFailure)}`,
    );
  }
  if (o.allowedOrigins !== undefined) {
    if (!Array.isArray(o.allowedOrigins) || o.allowedOrigins.some((x) => typeof x !== 'string')) {
      throw new WsHubOptionsError('allowedOrigins', 'must be an array of origin strings');
    }
  }
  fnOrClass('authenticate', o.authenticate, 'authenticate');
  fnOrClass('authorizeJoin', o.authorizeJoin, 'authorizeJoin');
  if (o.clientIp !== undefined && typeof o.clientIp !== 'function') {
    throw new WsHubOptionsError('clientIp', 'must be a function (request) => string');
  }
  if (
    o.adapter !== undefined &&
    (typeof o.adapter !== 'object' ||
      (typeof (o.adapter as { publish?: unknown }).publish !== 'function' &&
        typeof (o.adapter as { useFactory?: unknown }).useFactory !== 'function'))
  ) {
    throw new WsHubOptionsError('adapter', 'must implement HubAdapter');
  }
  if (
    o.redis !== undefined &&
    (typeof o.redis !== 'object' ||
      o.redis === null ||
      (!o.redis.url && !o.redis.client && !o.redis.cluster))
  ) {
    throw new WsHubOptionsError('redis', 'needs a url or a client');
  }
  const metrics = resolveMetrics(o.metrics);
  const recovery = resolveRecovery(o.recovery);

  return {
    path,
    pingIntervalMs: positiveInt(
      'pingIntervalMs',
      o.pingIntervalMs,
      DEFAULT_PING_INTERVAL_MS,
      'milliseconds',
    ),
    maxMissedPongs: positiveInt(
      'maxMissedPongs',
      o.maxMissedPongs,
      DEFAULT_MAX_MISSED_PONGS,
      'ping rounds',
    ),
    maxPayloadBytes: positiveInt(
      'maxPayloadBytes',
      o.maxPayloadBytes,
      DEFAULT_MAX_PAYLOAD_BYTES,
      'bytes',
    ),
    welcome: bool('welcome', o.welcome, true),
    shutdownTimeoutMs: positiveInt(
      'shutdownTimeoutMs',
      o.shutdownTimeoutMs,
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
      'milliseconds',
    ),
    perMessageDeflate: bool('perMessageDeflate', o.perMessageDeflate, false),
    authenticate: o.authenticate,
    authenticateTimeoutMs: positiveInt(
      'authenticateTimeoutMs',
      o.authenticateTimeoutMs,
      DEFAULT_AUTHENTICATE_TIMEOUT_MS,
      'milliseconds',
    ),
    tokenRefreshBeforeMs: positiveInt(
      'tokenRefreshBeforeMs',
      o.tokenRefreshBeforeMs,
      DEFAULT_TOKEN_REFRESH_BEFORE_MS,
      'milliseconds',
    ),
    allowedOrigins: o.allowedOrigins,
    allowMissingOrigin: bool('allowMissingOrigin', o.allowMissingOrigin, true),
    authFailure: o.authFailure ?? 'auto',
    maxConnections: optionalLimit('maxConnections', o.maxConnections),
    maxConnectionsPerIp: optionalLimit('maxConnectionsPerIp', o.maxConnectionsPerIp),
    clientIp: o.clientIp,
    rateLimit,
    maxInvalidFrames: positiveInt(
      'maxInvalidFrames',
      o.maxInvalidFrames,
      DEFAULT_MAX_INVALID_FRAMES,
      'frames',
    ),
    maxHandlerFailures: positiveInt(
      'maxHandlerFailures',
      o.maxHandlerFailures,
      DEFAULT_MAX_HANDLER_FAILURES,
      'frames',
    ),
    maxBufferedBytes: positiveInt(
      'maxBufferedBytes',
      o.maxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
      'bytes',
    ),
    slowConsumer: o.slowConsumer ?? 'close',
    authorizeJoin: o.authorizeJoin,
    maxRoomsPerClient: positiveInt(
      'maxRoomsPerClient',
      o.maxRoomsPerClient,
      DEFAULT_MAX_ROOMS_PER_CLIENT,
      'rooms',
    ),
    adapter: o.adapter,
    redis: o.redis,
    metrics,
    coalesceWrites: bool('coalesceWrites', o.coalesceWrites, true),
    recovery,
    ...resolveDeployOptions(o),
  };
}

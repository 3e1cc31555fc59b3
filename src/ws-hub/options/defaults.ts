/** Defaults of the module options (see `WsHubModuleOptions` for each option's meaning). */
export const DEFAULT_PATH = '/ws';
export const DEFAULT_PING_INTERVAL_MS = 25_000;
export const DEFAULT_MAX_MISSED_PONGS = 2;
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 3_000;
export const DEFAULT_DRAIN_MS = 5_000;
export const DEFAULT_AUTHENTICATE_TIMEOUT_MS = 10_000;
export const DEFAULT_TOKEN_REFRESH_BEFORE_MS = 60_000;
export const DEFAULT_MAX_ROOMS_PER_CLIENT = 100;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = { messagesPerSecond: 100, burst: 200, maxViolations: 20 };
export const DEFAULT_MAX_INVALID_FRAMES = 20;
export const DEFAULT_MAX_HANDLER_FAILURES = 10;
export const DEFAULT_METRICS_PREFIX = 'ws_hub_';
export const DEFAULT_RECOVERY = {
  historySize: 300,
  historyTtlMs: 300_000,
  sessionTtlMs: 120_000,
  maxReplayMessages: 1_000,
  maxReplayBytes: 1_048_576,
};
/** Window over which rate-limit violations and invalid frames are counted. */
export const VIOLATION_WINDOW_MS = 10_000;

/**
 * How often the sessions of connected recovering clients (and the streams they are in) are
 * refreshed in the store, in milliseconds: a third of the session TTL, at least every second.
 */
export function sessionTouchIntervalMs(sessionTtlMs: number): number {
  return Math.max(1_000, Math.floor(sessionTtlMs / 3));
}

/** Defaults of the module options (see `WsHubModuleOptions` for each option's meaning). */
export const DEFAULT_PATH = '/ws';
export const DEFAULT_PING_INTERVAL_MS = 25_000;
export const DEFAULT_MAX_MISSED_PONGS = 2;
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 3_000;
export const DEFAULT_AUTHENTICATE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ROOMS_PER_CLIENT = 100;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = { messagesPerSecond: 100, burst: 200, maxViolations: 20 };
export const DEFAULT_MAX_INVALID_FRAMES = 20;
export const DEFAULT_MAX_HANDLER_FAILURES = 10;
export const DEFAULT_METRICS_PREFIX = 'ws_hub_';
export const DEFAULT_RECOVERY = { historySize: 300, historyTtlMs: 300_000, sessionTtlMs: 120_000 };
/** Window over which rate-limit violations and invalid frames are counted. */
export const VIOLATION_WINDOW_MS = 10_000;

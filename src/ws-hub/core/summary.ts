import type { ResolvedHubOptions } from '../options/resolve-options.js';

function bytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function limit(n: number): string {
  return Number.isFinite(n) ? String(n) : 'unlimited';
}

/**
 * The startup log line: the effective options an operator needs to know, and no secret (no
 * token, no Redis URL or password: the adapter is named by kind only).
 */
export function startupSummary(o: ResolvedHubOptions, adapter: string): string {
  const rate = o.rateLimit
    ? `${o.rateLimit.messagesPerSecond}/s burst ${o.rateLimit.burst}`
    : 'off';
  return [
    `hub ready on ${o.path}`,
    `ping ${o.pingIntervalMs} ms x ${o.maxMissedPongs}`,
    `max payload ${bytes(o.maxPayloadBytes)}`,
    `rate limit ${rate}`,
    `slow consumer ${o.slowConsumer} past ${bytes(o.maxBufferedBytes)}`,
    `connections ${limit(o.maxConnections)} (per IP ${limit(o.maxConnectionsPerIp)})`,
    `handshakes ${limit(o.maxHandshakesPerSecond)}/s`,
    `drain ${o.drainMs} ms`,
    `auth ${o.authenticate ? 'on' : 'off'} (refusals as ${o.authFailure})`,
    `origins ${o.allowedOrigins ? o.allowedOrigins.length + ' allowed' : 'any'}`,
    `adapter ${adapter}`,
    `metrics ${o.metrics ? 'on (' + o.metrics.prefix + '*)' : 'off'}`,
  ].join(', ');
}

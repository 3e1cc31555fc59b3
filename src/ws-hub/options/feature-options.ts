import type { HubMetricsOptions, HubRecoveryOptions } from '../interfaces/options.interface.js';
import { DEFAULT_METRICS_PREFIX, DEFAULT_RECOVERY } from './defaults.js';
import { WsHubOptionsError } from './options.error.js';
import { bool, positiveInt } from './option-checks.js';
import { show } from './validators.js';

/** The `metrics` and `recovery` options: off unless given; `true` means their defaults. */

/** The recovery options with every default applied. */
export type ResolvedRecoveryOptions = Required<HubRecoveryOptions>;
/** The metrics options with every default applied. */
export type ResolvedMetricsOptions = Required<Omit<HubMetricsOptions, 'registry'>> &
  Pick<HubMetricsOptions, 'registry'>;

export function resolveRecovery(value: unknown): ResolvedRecoveryOptions | false {
  if (value === undefined || value === null || value === false) return false;
  const r = (value === true ? {} : value) as HubRecoveryOptions;
  if (typeof r !== 'object' || Array.isArray(r)) {
    throw new WsHubOptionsError(
      'recovery',
      'must be true, false or { historySize?, historyTtlMs?, sessionTtlMs?, maxReplayMessages?, maxReplayBytes? }',
    );
  }
  for (const key of Object.keys(r)) {
    if (!(key in DEFAULT_RECOVERY))
      throw new WsHubOptionsError(`recovery.${key}`, 'is not a recovery option');
  }
  const resolved = {
    historySize: positiveInt(
      'recovery.historySize',
      r.historySize,
      DEFAULT_RECOVERY.historySize,
      'messages',
    ),
    historyTtlMs: positiveInt(
      'recovery.historyTtlMs',
      r.historyTtlMs,
      DEFAULT_RECOVERY.historyTtlMs,
      'milliseconds',
    ),
    sessionTtlMs: positiveInt(
      'recovery.sessionTtlMs',
      r.sessionTtlMs,
      Math.min(DEFAULT_RECOVERY.sessionTtlMs, r.historyTtlMs ?? DEFAULT_RECOVERY.historyTtlMs),
      'milliseconds',
    ),
    maxReplayMessages: positiveInt(
      'recovery.maxReplayMessages',
      r.maxReplayMessages,
      DEFAULT_RECOVERY.maxReplayMessages,
      'messages',
    ),
    maxReplayBytes: positiveInt(
      'recovery.maxReplayBytes',
      r.maxReplayBytes,
      DEFAULT_RECOVERY.maxReplayBytes,
      'bytes',
    ),
  };
  // A session that outlives its streams' history could never be recovered completely.
  if (resolved.sessionTtlMs > resolved.historyTtlMs) {
    throw new WsHubOptionsError(
      'recovery.sessionTtlMs',
      `must not exceed recovery.historyTtlMs (${resolved.historyTtlMs}), got ${resolved.sessionTtlMs}`,
    );
  }
  return resolved;
}

export function resolveMetrics(value: unknown): ResolvedMetricsOptions | false {
  if (value === undefined || value === null || value === false) return false;
  const m = (value === true ? {} : value) as HubMetricsOptions;
  if (typeof m !== 'object' || Array.isArray(m)) {
    throw new WsHubOptionsError(
      'metrics',
      'must be true, false or { registry?, prefix?, eventLoopDelay?, errorCodes? }',
    );
  }
  for (const key of Object.keys(m)) {
    if (
      key !== 'registry' &&
      key !== 'prefix' &&
      key !== 'eventLoopDelay' &&
      key !== 'errorCodes'
    ) {
      throw new WsHubOptionsError(`metrics.${key}`, 'is not a metrics option');
    }
  }
  const prefix = m.prefix ?? DEFAULT_METRICS_PREFIX;
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new WsHubOptionsError(
      'metrics.prefix',
      `must be a valid Prometheus name prefix, got ${show(prefix)}`,
    );
  }
  if (
    m.registry !== undefined &&
    (typeof m.registry !== 'object' ||
      m.registry === null ||
      typeof m.registry.removeSingleMetric !== 'function')
  ) {
    throw new WsHubOptionsError('metrics.registry', 'must be a prom-client Registry');
  }
  if (
    m.errorCodes !== undefined &&
    (!Array.isArray(m.errorCodes) || m.errorCodes.some((c) => typeof c !== 'string'))
  ) {
    throw new WsHubOptionsError('metrics.errorCodes', 'must be an array of error code strings');
  }
  return {
    registry: m.registry,
    prefix,
    eventLoopDelay: bool('metrics.eventLoopDelay', m.eventLoopDelay, true),
    errorCodes: m.errorCodes ?? [],
  };
}

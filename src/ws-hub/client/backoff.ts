import type { HubCloseAction } from './close-policy.js';
import type { HubReconnectOptions } from './types.js';

/** Reconnect defaults. */
export const RECONNECT_DEFAULTS: Readonly<HubReconnectOptions> = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 10_000,
  restartDelayMs: 1000,
};

/**
 * Exponential backoff with full jitter: random(0, min(max, initial * 2^attempt)), attempt
 * counting from 0. Spreads the clients of a dropped instance over the whole window.
 */
export function backoffDelay(
  attempt: number,
  { initialDelayMs, maxDelayMs }: Pick<HubReconnectOptions, 'initialDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(maxDelayMs, initialDelayMs * 2 ** attempt));
}

/**
 * The wait before the next attempt after a close calling for `action`: random(0,
 * `restartDelayMs`) after a drain, none for the first attempt after an expiry, else the backoff
 * (plus `maxDelayMs` when `slow`).
 */
export function retryDelay(
  action: HubCloseAction,
  attempt: number,
  options: HubReconnectOptions,
  random: () => number,
): number {
  if (action === 'restart') return Math.floor(random() * options.restartDelayMs);
  if (action === 'renew' && !attempt) return 0;
  return backoffDelay(attempt, options, random) + (action === 'slow' ? options.maxDelayMs : 0);
}

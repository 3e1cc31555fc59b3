import type { HubReconnectOptions } from './types.js';

/** Reconnect defaults. */
export const RECONNECT_DEFAULTS: Readonly<HubReconnectOptions> = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 10_000,
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

import type { WsHubModuleOptions } from '../interfaces/options.interface.js';
import { DEFAULT_DRAIN_MS } from './defaults.js';
import { WsHubOptionsError } from './options.error.js';
import { positiveInt } from './option-checks.js';
import { ENV_HINT, show } from './validators.js';

/** The options of deploys: the drain, and admission control of handshakes. */
export interface ResolvedDeployOptions {
  drainMs: number;
  /** `Infinity`: unlimited. */
  maxHandshakesPerSecond: number;
}

/** `value` as a whole number of milliseconds, 0 included (a digit string is read as one). */
function wholeMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) value = Number(value);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    const hint = typeof value === 'string' ? ` (${ENV_HINT})` : '';
    throw new WsHubOptionsError(
      name,
      `must be a whole number of milliseconds (0 or more), got ${show(value)}${hint}`,
    );
  }
  return value;
}

export function resolveDeployOptions(o: WsHubModuleOptions): ResolvedDeployOptions {
  const rate = o.maxHandshakesPerSecond;
  return {
    drainMs: wholeMs('drainMs', o.drainMs, DEFAULT_DRAIN_MS),
    maxHandshakesPerSecond:
      rate === undefined || rate === null || rate === Infinity
        ? Infinity
        : positiveInt('maxHandshakesPerSecond', rate, Infinity, 'handshakes per second'),
  };
}

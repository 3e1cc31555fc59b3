import { WsHubOptionsError } from './options.error.js';
import { ENV_HINT, readPositiveInt, show } from './validators.js';

/** Option checks that throw `WsHubOptionsError` naming the option. */

export function positiveInt(name: string, value: unknown, fallback: number, unit: string): number {
  return readPositiveInt(value, fallback, unit, (problem) => {
    throw new WsHubOptionsError(name, problem);
  });
}

export function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    const hint = typeof value === 'string' ? ` (${ENV_HINT})` : '';
    throw new WsHubOptionsError(name, `must be a boolean, got ${show(value)}${hint}`);
  }
  return value;
}

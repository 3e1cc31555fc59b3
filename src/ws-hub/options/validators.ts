/** Option checks shared by the module options and the Redis adapter's options. */

/** A value as an error message shows it: strings quoted, objects by type only (no secrets). */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  return typeof value;
}

/** Said of a string given where a number or a boolean was expected. */
export const ENV_HINT =
  'environment values are strings: convert them (Number(value), value === "true")';

/**
 * `value` when it is a positive integer, or a string of decimal digits (an environment value,
 * as `ConfigService.get` returns it) read as one; `fallback` when absent; anything else calls
 * `fail` with the problem (each caller throws its own error type naming the option).
 */
export function readPositiveInt(
  value: unknown,
  fallback: number,
  unit: string,
  fail: (problem: string) => never,
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    const hint = typeof value === 'string' ? ` (${ENV_HINT})` : '';
    fail(`must be a positive integer (${unit}), got ${show(value)}${hint}`);
  }
  return value as number;
}

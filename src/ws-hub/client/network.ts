/** On `offline` (or `online`) the open connection must answer a ping this soon, at most. */
export const PROBE_TIMEOUT_MS = 3000;

type NetworkListener = (event: { type: string }) => void;

/**
 * Starts (`on`) or stops calling `listener` on the browser's `online` and `offline` events (on
 * `globalThis`: windows and workers; nothing where there is no `addEventListener`, as in Node).
 */
export function watchNetwork(on: boolean, listener: NetworkListener): void {
  const g = globalThis as unknown as Record<string, (type: string, fn: NetworkListener) => void>;
  const method = on ? 'addEventListener' : 'removeEventListener';
  for (const type of ['online', 'offline']) g[method]?.(type, listener);
}

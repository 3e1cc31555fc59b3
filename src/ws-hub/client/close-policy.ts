import type { HubCloseCause } from './types.js';

/**
 * What the client does on a close:
 * - `retry`: reconnect with backoff;
 * - `slow`: reconnect after `maxDelayMs` plus backoff, and report `policy` (fix the client);
 * - `stop`: do not reconnect.
 */
export type HubCloseAction = 'retry' | 'slow' | 'stop';

export interface HubClosePolicy {
  action: HubCloseAction;
  cause: HubCloseCause;
}

/** Close code → action. Codes not listed: `retry` / `lost`. */
export const CLOSE_POLICY: Readonly<Record<number, HubClosePolicy>> = {
  1000: { action: 'stop', cause: 'server' },
  1001: { action: 'retry', cause: 'lost' },
  1006: { action: 'retry', cause: 'lost' },
  1008: { action: 'slow', cause: 'policy' },
  1009: { action: 'slow', cause: 'policy' },
  1011: { action: 'retry', cause: 'lost' },
  1013: { action: 'retry', cause: 'lost' },
  4401: { action: 'stop', cause: 'refused' },
  4403: { action: 'stop', cause: 'refused' },
};

const DEFAULT_POLICY: HubClosePolicy = { action: 'retry', cause: 'lost' };

export function closePolicy(code: number): HubClosePolicy {
  return CLOSE_POLICY[code] ?? DEFAULT_POLICY;
}

/** Code the client reports (and closes its socket with) after a connect or pong timeout. */
export const CLIENT_TIMEOUT_CODE = 4000;

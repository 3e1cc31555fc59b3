import { CloseCode } from '../protocol/constants.js';
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
  [CloseCode.NORMAL]: { action: 'stop', cause: 'server' },
  [CloseCode.GOING_AWAY]: { action: 'retry', cause: 'lost' },
  [CloseCode.ABNORMAL]: { action: 'retry', cause: 'lost' },
  [CloseCode.POLICY_VIOLATION]: { action: 'slow', cause: 'policy' },
  [CloseCode.MESSAGE_TOO_BIG]: { action: 'slow', cause: 'policy' },
  [CloseCode.INTERNAL_ERROR]: { action: 'retry', cause: 'lost' },
  [CloseCode.TRY_AGAIN_LATER]: { action: 'retry', cause: 'lost' },
  [CloseCode.UNAUTHORIZED]: { action: 'stop', cause: 'refused' },
  [CloseCode.FORBIDDEN_ORIGIN]: { action: 'stop', cause: 'refused' },
};

const DEFAULT_POLICY: HubClosePolicy = { action: 'retry', cause: 'lost' };

export function closePolicy(code: number): HubClosePolicy {
  return CLOSE_POLICY[code] ?? DEFAULT_POLICY;
}

/** Code the client reports (and closes its socket with) after a connect or pong timeout. */
export const CLIENT_TIMEOUT_CODE = CloseCode.CLIENT_TIMEOUT;

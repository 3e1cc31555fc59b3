import type { HubCloseCause } from './types.js';

/**
 * What the client does on a close:
 * - `retry`: reconnect with backoff;
 * - `slow`: reconnect after `maxDelayMs` plus backoff, and report `policy` (fix the client);
 * - `restart`: the server is draining: reconnect after random(0, `restartDelayMs`), uncounted;
 * - `renew`: reconnect at once (backoff from the second attempt on) with a new token;
 * - `stop`: do not reconnect.
 */
export type HubCloseAction = 'retry' | 'slow' | 'restart' | 'renew' | 'stop';

export interface HubClosePolicy {
  action: HubCloseAction;
  cause: HubCloseCause;
}

export const makePolicy = (action: HubCloseAction, cause: HubCloseCause): HubClosePolicy => ({
  action,
  cause,
});
export const REFUSED = makePolicy('stop', 'refused');
/** `close()` was called. */
export const USER = makePolicy('stop', 'user');
/** The WebSocket constructor threw (bad URL or token characters). */
export const INVALID = makePolicy('stop', 'invalid');
/** No welcome or no pong in time. */
export const TIMEOUT = makePolicy('retry', 'timeout');
/** The server is draining or asks for a resume (1012), or the client lost continuity. */
export const RESTART = makePolicy('restart', 'restart');
const LOST = makePolicy('retry', 'lost');
const SLOW = makePolicy('slow', 'policy');

/** Close code (`CloseCode` of the protocol constants) → action. Codes not listed: `retry` / `lost`. */
export const CLOSE_POLICY: Readonly<Record<number, HubClosePolicy>> = {
  1000: makePolicy('stop', 'server'), // NORMAL
  1001: LOST, // GOING_AWAY
  1006: LOST, // ABNORMAL
  1008: SLOW, // POLICY_VIOLATION
  1009: SLOW, // MESSAGE_TOO_BIG
  1011: LOST, // INTERNAL_ERROR
  1012: RESTART, // SERVICE_RESTART
  1013: LOST, // TRY_AGAIN_LATER
  4401: REFUSED, // UNAUTHORIZED
  4403: REFUSED, // FORBIDDEN_ORIGIN
  4409: makePolicy('stop', 'replaced'), // SESSION_RESUMED: a newer connection took the session
  4440: makePolicy('renew', 'expired'), // TOKEN_EXPIRED
  4441: makePolicy('stop', 'revoked'), // REVOKED
};

/**
 * The policy for a close `code`, or for a handshake refused with HTTP `status` (seen only where
 * the socket shows it: Node with `ws`): 401 and 403 are refusals, like 4401 and 4403.
 */
export function closePolicy(code: number, status?: number): HubClosePolicy {
  return status === 401 || status === 403 ? REFUSED : (CLOSE_POLICY[code] ?? LOST);
}

/**
 * The wait a `Retry-After: <seconds>` header asks for (at most 600 s, so a bad value cannot
 * park the client), plus random [0, 1 s) so that the refused clients do not come back together;
 * 0 without a valid header.
 */
export function retryAfterMs(header: unknown, random: () => number): number {
  const seconds = Number(header || NaN);
  return seconds >= 0 ? Math.floor(Math.min(seconds, 600) * 1000 + random() * 1000) : 0;
}

/** Code the client reports (and closes its socket with) after a connect or pong timeout. */
export const CLIENT_TIMEOUT_CODE = 4000;

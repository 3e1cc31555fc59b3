import { describe, expect, it } from 'vitest';
import {
  CLIENT_TIMEOUT_CODE,
  CLOSE_POLICY,
  closePolicy,
  retryAfterMs,
} from '../../../src/ws-hub/client/close-policy.js';
import { CloseCode } from '../../../src/ws-hub/protocol/constants.js';

describe('close policy', () => {
  it.each([
    [CloseCode.NORMAL, 'stop', 'server'],
    [CloseCode.GOING_AWAY, 'retry', 'lost'],
    [CloseCode.ABNORMAL, 'retry', 'lost'],
    [CloseCode.POLICY_VIOLATION, 'slow', 'policy'],
    [CloseCode.MESSAGE_TOO_BIG, 'slow', 'policy'],
    [CloseCode.INTERNAL_ERROR, 'retry', 'lost'],
    [CloseCode.SERVICE_RESTART, 'restart', 'restart'],
    [CloseCode.TRY_AGAIN_LATER, 'retry', 'lost'],
    [CloseCode.UNAUTHORIZED, 'stop', 'refused'],
    [CloseCode.FORBIDDEN_ORIGIN, 'stop', 'refused'],
    [CloseCode.SESSION_RESUMED, 'stop', 'replaced'],
    [CloseCode.TOKEN_EXPIRED, 'renew', 'expired'],
    [CloseCode.REVOKED, 'stop', 'revoked'],
  ])('%i → %s (%s)', (code, action, cause) => {
    expect(closePolicy(code)).toEqual({ action, cause });
    expect(CLOSE_POLICY[code]).toEqual({ action, cause });
  });

  it('lists exactly those codes (numbers written out: the CloseCode object is not bundled)', () => {
    expect(Object.keys(CLOSE_POLICY).map(Number)).toHaveLength(13);
    expect(CLIENT_TIMEOUT_CODE).toBe(CloseCode.CLIENT_TIMEOUT);
  });

  it('retries codes it does not know', () => {
    for (const code of [1002, 1005, 1007, 3000, 4000, 4408, 4999]) {
      expect(closePolicy(code)).toEqual({ action: 'retry', cause: 'lost' });
    }
  });

  it('a handshake refused with HTTP 401 or 403 is a refusal; other statuses are not', () => {
    expect(closePolicy(1006, 401)).toEqual({ action: 'stop', cause: 'refused' });
    expect(closePolicy(1006, 403)).toEqual({ action: 'stop', cause: 'refused' });
    for (const status of [404, 429, 500, 503, undefined])
      expect(closePolicy(1006, status)).toEqual({ action: 'retry', cause: 'lost' });
  });
});

describe('Retry-After', () => {
  it('waits the seconds given plus random [0, 1 s)', () => {
    expect(retryAfterMs('2', () => 0)).toBe(2000);
    expect(retryAfterMs('2', () => 0.999)).toBe(2999);
    expect(retryAfterMs('0', () => 0.5)).toBe(500);
    expect(retryAfterMs('1.5', () => 0)).toBe(1500);
  });

  it('caps the wait at 600 s and ignores a missing or unreadable header', () => {
    expect(retryAfterMs('86400', () => 0)).toBe(600_000);
    for (const header of [undefined, '', 'soon', '-3', 'Wed, 21 Oct 2015 07:28:00 GMT'])
      expect(retryAfterMs(header, () => 0.5)).toBe(0);
  });
});

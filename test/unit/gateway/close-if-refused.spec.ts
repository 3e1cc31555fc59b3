import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeIfRefused, kRefused } from '../../../src/ws-hub/gateway/handshake.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function socket() {
  return { close: vi.fn(), terminate: vi.fn() };
}

describe('closeIfRefused', () => {
  it('leaves a socket whose handshake recorded no refusal alone', () => {
    const s = socket();
    expect(closeIfRefused(s, { headers: {} } as IncomingMessage)).toBe(false);
    expect(closeIfRefused(s, undefined)).toBe(false);
    expect(s.close).not.toHaveBeenCalled();
  });

  it('closes a refused socket with its code and reason, and destroys it a second later', () => {
    const s = socket();
    const request = { [kRefused]: { code: 4401, reason: 'unauthorized' } } as never;
    expect(closeIfRefused(s, request)).toBe(true);
    expect(s.close).toHaveBeenCalledWith(4401, 'unauthorized');
    vi.advanceTimersByTime(999);
    expect(s.terminate).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(s.terminate).toHaveBeenCalledTimes(1);
  });
});

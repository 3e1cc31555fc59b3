import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubDisconnectedError } from '../../../src/ws-hub/client/index.js';
import { capture, flush, FakeWsSocket, setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('a refused handshake stops the client (issue 19)', () => {
  it.each([401, 403])(
    'HTTP %i, seen through ws: closed, cause refused, no retry',
    async (status) => {
      const h = setup({ token: 'bad' }, 'ws://hub.test/ws', FakeWsSocket);
      const queued = capture(h.client.request('message', 1));
      h.socket.refuse(status);
      await flush();
      expect(h.lastChange).toEqual({
        state: 'closed',
        code: 1006,
        reason: `HTTP ${status}`,
        cause: 'refused',
        willRetry: false,
        discarded: 1,
      });
      expect(queued.error).toBeInstanceOf(HubDisconnectedError);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(600_000);
      expect(h.sockets).toHaveLength(1);
    },
  );

  it('a browser sees a refused handshake as 1006 only: retried, unreachable after a while', () => {
    const h = setup({ token: 'bad', unreachableAfter: 2 });
    h.socket.drop(1006);
    vi.advanceTimersByTime(250);
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', cause: 'unreachable' });
  });

  it('4441 (revoked): closed, cause revoked, no retry, queue discarded', () => {
    const h = setup();
    h.socket.welcome();
    h.socket.drop(1006);
    h.client.send('message', 'queued');
    vi.advanceTimersByTime(250);
    h.socket.welcome();
    h.socket.drop(4441, 'revoked');
    expect(h.lastChange).toEqual({
      state: 'closed',
      code: 4441,
      reason: 'revoked',
      cause: 'revoked',
      willRetry: false,
      discarded: 0,
    });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(h.sockets).toHaveLength(2);
  });
});

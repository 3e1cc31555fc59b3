import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWsSocket, setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const delay = (h: ReturnType<typeof setup>) => (h.lastChange as { delayMs: number }).delayMs;

describe('1012: the server is draining (issue 20)', () => {
  it('reconnects after random(0, restartDelayMs), cause restart, the attempt not counted', () => {
    const h = setup({ random: () => 0.5 });
    h.socket.welcome();
    h.socket.drop(1012, 'server restarting');
    expect(h.lastChange).toEqual({
      state: 'reconnecting',
      attempt: 0,
      delayMs: 500, // 0.5 * the default restartDelayMs of 1000
      code: 1012,
      reason: 'server restarting',
      cause: 'restart',
      willRetry: true,
    });
    vi.advanceTimersByTime(499);
    expect(h.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.sockets).toHaveLength(2);
    // that attempt fails: the backoff starts from its first step, as if no drain had happened
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 1, delayMs: 250, cause: 'lost' });
  });

  it('honours reconnect.restartDelayMs, and spreads the clients over it', () => {
    const delays = [0, 0.25, 0.999].map((r) => {
      const h = setup({ random: () => r, reconnect: { restartDelayMs: 4000 } });
      h.socket.welcome();
      h.socket.drop(1012, 'server restarting');
      return delay(h);
    });
    expect(delays).toEqual([0, 1000, 3996]);
  });

  it('a drain during an outage keeps the attempt count it had', () => {
    const h = setup({ random: () => 1 });
    h.socket.drop(1006);
    vi.advanceTimersByTime(500);
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 2, delayMs: 1000 });
    vi.advanceTimersByTime(1000);
    h.socket.drop(1012, 'server restarting'); // e.g. refused by a draining instance
    expect(h.lastChange).toMatchObject({ attempt: 2, cause: 'restart', delayMs: 1000 });
    vi.advanceTimersByTime(1000);
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 3, delayMs: 2000 });
  });
});

describe('url as a list', () => {
  it('each attempt takes the next URL, round robin, so a drained client goes elsewhere', () => {
    const h = setup({ random: () => 0 }, ['ws://a.test/ws', 'ws://b.test/ws', 'ws://c.test/ws']);
    h.socket.welcome();
    h.socket.drop(1012, 'server restarting');
    vi.advanceTimersByTime(0);
    h.socket.drop(1006);
    vi.advanceTimersByTime(0);
    h.socket.drop(1006);
    vi.advanceTimersByTime(0);
    expect(h.sockets.map((s) => s.url)).toEqual([
      'ws://a.test/ws',
      'ws://b.test/ws',
      'ws://c.test/ws',
      'ws://a.test/ws',
    ]);
  });

  it('a list of one is a plain URL', () => {
    const h = setup({ random: () => 0 }, ['ws://only.test/ws']);
    h.socket.drop(1006);
    vi.advanceTimersByTime(0);
    expect(h.sockets.map((s) => s.url)).toEqual(['ws://only.test/ws', 'ws://only.test/ws']);
  });
});

describe('Retry-After on a handshake refused for load (Node with ws)', () => {
  it.each([503, 429])(
    '%i: waits Retry-After plus random [0, 1 s) instead of a shorter backoff',
    (status) => {
      const h = setup({ random: () => 0.5 }, 'ws://hub.test/ws', FakeWsSocket);
      h.socket.refuse(status, { 'retry-after': '5' });
      expect(h.lastChange).toEqual({
        state: 'reconnecting',
        attempt: 1,
        delayMs: 5500, // 5 s + 0.5 * 1 s, longer than the 250 ms backoff
        code: 1006,
        reason: `HTTP ${status}`,
        cause: 'lost',
        willRetry: true,
      });
      expect(h.socket.closedWith).toEqual({ code: undefined, reason: undefined }); // aborted
      vi.advanceTimersByTime(5499);
      expect(h.sockets).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(h.sockets).toHaveLength(2);
    },
  );

  it('keeps the backoff when it is longer, and counts toward unreachable as before', () => {
    const h = setup({ random: () => 1, unreachableAfter: 2 }, 'ws://hub.test/ws', FakeWsSocket);
    const seen: [number, string][] = [];
    for (let i = 0; i < 4; i++) {
      h.socket.refuse(503, { 'retry-after': '1' });
      seen.push([delay(h), (h.lastChange as { cause: string }).cause]);
      vi.advanceTimersByTime(delay(h));
    }
    expect(seen).toEqual([
      [2000, 'lost'], // max(500 backoff, 1 s + 1 s)
      [2000, 'unreachable'],
      [2000, 'unreachable'],
      [4000, 'unreachable'], // the backoff is longer now
    ]);
  });

  it('without the header, or in a browser (no HTTP answer seen), the backoff as before', () => {
    const ws = setup({ random: () => 0.5 }, 'ws://hub.test/ws', FakeWsSocket);
    ws.socket.refuse(503);
    expect(ws.lastChange).toMatchObject({ delayMs: 250, reason: 'HTTP 503', cause: 'lost' });
    const browser = setup({ random: () => 0.5 });
    browser.socket.drop(1006);
    expect(browser.lastChange).toMatchObject({ delayMs: 250, reason: '', cause: 'lost' });
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHubClient } from '../../../src/ws-hub/client/index.js';
import { flush, setup, WELCOME } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('connecting and opening', () => {
  it('connects at once, offering ws-hub.v1, ws-hub.recovery (and the bearer token)', () => {
    const plain = setup();
    expect(plain.client.state).toBe('connecting');
    expect(plain.sockets).toHaveLength(1);
    expect(plain.socket.url).toBe('ws://hub.test/ws');
    expect(plain.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery']);
    const withToken = setup({ token: 'abc' });
    expect(withToken.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.abc']);
  });

  it('is open once the welcome arrives, with its data', () => {
    const { client, socket, changes } = setup();
    expect(client.welcome).toBeUndefined();
    socket.welcome();
    expect(client.state).toBe('open');
    expect(client.welcome).toEqual(WELCOME);
    expect(changes).toEqual([{ state: 'open', welcome: WELCOME }]);
    expect(client.recovered).toBeUndefined();
  });

  it('uses the global WebSocket, and says so when there is none', () => {
    vi.stubGlobal('WebSocket', undefined);
    expect(() => createHubClient('ws://x')).toThrow(/no global WebSocket/);
  });

  it('calls getToken before every attempt', async () => {
    let n = 0;
    const getToken = vi.fn(async () => `t${++n}`);
    const h = setup({ getToken });
    await flush();
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.t1']);
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(h.sockets).toHaveLength(2);
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.t2']);
  });

  it('retries when getToken fails, reporting the cause', async () => {
    const getToken = vi
      .fn()
      .mockRejectedValueOnce(new Error('auth server down'))
      .mockReturnValue('ok');
    const h = setup({ getToken });
    await flush();
    expect(h.sockets).toHaveLength(0);
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', cause: 'token', attempt: 1 });
    expect(h.lastChange).toMatchObject({ reason: expect.stringContaining('auth server down') });
    await vi.advanceTimersByTimeAsync(250);
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.ok']);
  });

  it('stops when the WebSocket constructor throws (bad URL)', async () => {
    class Throwing {
      constructor() {
        throw new SyntaxError('invalid url');
      }
    }
    const h = setup({ WebSocket: Throwing as never });
    await flush();
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'invalid', willRetry: false });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up on a socket that sends no welcome in time and reconnects', () => {
    const h = setup({ connectTimeoutMs: 2000 });
    vi.advanceTimersByTime(1999);
    expect(h.socket.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(h.socket.closedWith).toEqual({ code: 4000, reason: 'connect timeout' });
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', code: 4000, cause: 'timeout' });
    vi.advanceTimersByTime(250);
    expect(h.sockets).toHaveLength(2);
  });

  it('uses injected timers and random', () => {
    const set = vi.fn((_fn: () => void, _ms: number) => 42);
    const clear = vi.fn();
    const h = setup({ timers: { setTimeout: set, clearTimeout: clear }, random: () => 0 });
    expect(set).toHaveBeenCalledWith(expect.any(Function), 10_000); // connect timeout
    h.socket.drop(1006);
    expect(clear).toHaveBeenCalledWith(42);
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', delayMs: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('close codes', () => {
  it.each([1001, 1006, 1011, 1013, 1005, 4000, 4321])(
    '%i after open: reconnects with backoff (cause lost)',
    (code) => {
      const h = setup();
      h.socket.welcome();
      h.socket.drop(code, 'bye');
      expect(h.client.state).toBe('reconnecting');
      expect(h.lastChange).toEqual({
        state: 'reconnecting',
        attempt: 1,
        delayMs: 250, // random 0.5 * min(30 000, 500 * 2^0)
        code,
        reason: 'bye',
        cause: 'lost',
        willRetry: true,
      });
      vi.advanceTimersByTime(249);
      expect(h.sockets).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(h.sockets).toHaveLength(2);
      h.socket.welcome();
      expect(h.client.state).toBe('open');
    },
  );

  it.each([1008, 1009])(
    '%i: retries slowly (after maxDelayMs at least) and reports policy',
    (code) => {
      const h = setup({ random: () => 0 });
      h.socket.welcome();
      h.socket.drop(code, 'rate limit exceeded');
      expect(h.lastChange).toMatchObject({
        state: 'reconnecting',
        cause: 'policy',
        code,
        willRetry: true,
        delayMs: 30_000,
      });
      vi.advanceTimersByTime(29_999);
      expect(h.sockets).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(h.sockets).toHaveLength(2);
    },
  );

  it.each([4401, 4403])('%i: refused, stops retrying', (code) => {
    const h = setup();
    h.socket.drop(code, 'unauthorized'); // before any frame, as with authFailure: 'close'
    expect(h.client.state).toBe('closed');
    expect(h.lastChange).toEqual({
      state: 'closed',
      code,
      reason: 'unauthorized',
      cause: 'refused',
      willRetry: false,
      discarded: 0,
    });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('1000 from the server: closed, no retry', () => {
    const h = setup();
    h.socket.welcome();
    h.socket.drop(1000, 'bye');
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'server', willRetry: false });
    vi.advanceTimersByTime(600_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('close() by the user: closes the socket with 1000, never retries, leaves no timer', () => {
    const h = setup();
    h.socket.welcome();
    h.client.close();
    expect(h.socket.closedWith).toEqual({ code: 1000, reason: undefined });
    expect(h.lastChange).toMatchObject({
      state: 'closed',
      code: 1000,
      cause: 'user',
      willRetry: false,
    });
    expect(vi.getTimerCount()).toBe(0);
    h.socket.drop(1006); // a late close event changes nothing
    h.client.close();
    expect(h.changes).toHaveLength(2);
    vi.advanceTimersByTime(600_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('close() while waiting to reconnect cancels the retry', async () => {
    const getToken = vi.fn(() => 't');
    const h = setup({ getToken });
    await flush();
    h.socket.drop(1006);
    h.client.close();
    expect(h.client.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(h.sockets).toHaveLength(1);
    expect(getToken).toHaveBeenCalledOnce();
  });

  it('close() while getToken is pending opens no socket', async () => {
    const h = setup({
      getToken: () => new Promise((resolve) => setTimeout(() => resolve('t'), 100)),
    });
    h.client.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.sockets).toHaveLength(0);
  });

  it('never opened N times in a row: unreachable, still retrying', () => {
    const h = setup({ unreachableAfter: 3 });
    const causes: string[] = [];
    for (let i = 0; i < 4; i++) {
      h.socket.drop(1006); // e.g. a 401 answered over HTTP: browsers only see 1006
      const change = h.lastChange as { cause: string; delayMs: number };
      causes.push(change.cause);
      vi.advanceTimersByTime(change.delayMs);
    }
    expect(causes).toEqual(['lost', 'lost', 'unreachable', 'unreachable']);
    expect(h.sockets).toHaveLength(5);
    h.socket.welcome();
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ cause: 'lost' });
  });

  it('reports the attempt number and exponential delays', () => {
    const h = setup({ random: () => 1 });
    const seen: Array<[number, number]> = [];
    for (let i = 0; i < 8; i++) {
      h.socket.drop(1006);
      const change = h.lastChange as { attempt: number; delayMs: number };
      seen.push([change.attempt, change.delayMs]);
      vi.advanceTimersByTime(change.delayMs);
    }
    expect(seen).toEqual([
      [1, 500],
      [2, 1000],
      [3, 2000],
      [4, 4000],
      [5, 8000],
      [6, 16_000],
      [7, 30_000],
      [8, 30_000],
    ]);
  });

  it('resets the attempt counter only after stableAfterMs open', () => {
    const h = setup({ random: () => 1, reconnect: { stableAfterMs: 5000 } });
    h.socket.welcome();
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 1, delayMs: 500 });
    vi.advanceTimersByTime(500);
    h.socket.welcome();
    vi.advanceTimersByTime(4999); // open, but not stable yet
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 2, delayMs: 1000 });
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    vi.advanceTimersByTime(5000);
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ attempt: 1, delayMs: 500 });
  });

  it('honours initialDelayMs and maxDelayMs', () => {
    const h = setup({ random: () => 1, reconnect: { initialDelayMs: 100, maxDelayMs: 300 } });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.socket.drop(1006);
      delays.push((h.lastChange as { delayMs: number }).delayMs);
      vi.advanceTimersByTime(1000);
    }
    expect(delays).toEqual([100, 200, 300, 300]);
  });

  it('onState returns an unsubscribe function', () => {
    const h = setup();
    const listener = vi.fn();
    const off = h.client.onState(listener);
    h.socket.welcome();
    off();
    h.socket.drop(1006);
    expect(listener).toHaveBeenCalledOnce();
  });
});

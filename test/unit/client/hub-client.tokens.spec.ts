import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubRequestError,
  HubTimeoutError,
  type HubTokenRefresh,
} from '../../../src/ws-hub/client/index.js';
import { capture, flush, setup, WELCOME } from './fake-socket.js';

/**
 * Token expiry and in-band refresh (issue 21), client side: the server's frames are played by
 * the fake socket, time by fake timers (`Date.now()` included).
 */

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_700_000_000_000);
});
afterEach(() => vi.useRealTimers());

/** A getToken whose calls the test resolves (or rejects) one by one, in order. */
function manualTokens() {
  const calls: { resolve(token: string | undefined): void; reject(error: Error): void }[] = [];
  const getToken = vi.fn(
    () => new Promise<string | undefined>((resolve, reject) => calls.push({ resolve, reject })),
  );
  return { getToken, calls };
}

/** A client open with `bearer.t1`, token expiring in 60 s, in room `lobby`. */
async function openWithExpiry(options = {}) {
  let n = 0;
  const getToken = vi.fn(async () => `t${++n}`);
  const h = setup({ getToken, pingIntervalMs: 0, ...options });
  const refreshes: HubTokenRefresh[] = [];
  h.client.onTokenRefresh((r) => refreshes.push(r));
  await flush();
  h.socket.welcome({ expiresAt: Date.now() + 60_000, expiresInMs: 60_000 });
  const joined = capture(h.client.join('lobby'));
  h.socket.reply('join', 'joined', { room: 'lobby' });
  await flush();
  expect(joined.settled).toBe(true);
  h.socket.sent.length = 0;
  return Object.assign(h, { getToken, refreshes });
}

const expiring = (inMs: number) => ({
  event: 'expiring',
  data: { expiresAt: Date.now() + inMs, expiresInMs: inMs },
});

describe('token expiry', () => {
  it('tokenExpiresAt: receive time + expiresInMs on the local clock, never the server epoch', () => {
    const h = setup({ token: 't' });
    expect(h.client.tokenExpiresAt).toBeUndefined();
    // the server's clock is 7 s ahead of this one
    h.socket.welcome({ expiresAt: Date.now() + 7000 + 60_000, expiresInMs: 60_000 });
    expect(h.client.tokenExpiresAt).toBe(Date.now() + 60_000);
    h.socket.drop(1006);
    vi.advanceTimersByTime(250);
    h.socket.welcome(); // no expiry on this connection
    expect(h.client.tokenExpiresAt).toBeUndefined();
  });

  it('answers expiring in-band: one getToken call, a refresh frame, the new expiry; no reconnect', async () => {
    const h = await openWithExpiry();
    const onExpiring = vi.fn();
    h.client.on('expiring', onExpiring);
    vi.advanceTimersByTime(50_000);
    h.socket.push(expiring(10_000));
    await flush();
    expect(h.getToken).toHaveBeenCalledTimes(2);
    expect(h.socket.sent).toEqual([
      { event: 'refresh', id: expect.any(Number), data: { token: 't2' } },
    ]);
    h.socket.reply('refresh', 'refreshed', {
      expiresAt: Date.now() + 3_600_000,
      expiresInMs: 3_600_000,
    });
    await flush();
    expect(h.client.tokenExpiresAt).toBe(Date.now() + 3_600_000);
    expect(h.refreshes).toEqual([
      { expiresAt: Date.now() + 3_600_000, ok: true, error: undefined },
    ]);
    expect(h.sockets).toHaveLength(1);
    expect(h.client.state).toBe('open');
    expect(h.socket.sent.map((f) => f.event)).toEqual(['refresh']); // no rejoin
    expect([...h.client.rooms]).toEqual(['lobby']);
    expect(onExpiring).not.toHaveBeenCalled();
    // and again at the next expiry
    h.socket.push(expiring(5000));
    await flush();
    expect(h.socket.last('refresh').data).toEqual({ token: 't3' });
  });

  it('refreshed with null: the new token has no expiry', async () => {
    const h = await openWithExpiry();
    h.socket.push(expiring(5000));
    await flush();
    h.socket.reply('refresh', 'refreshed', { expiresAt: null, expiresInMs: null });
    await flush();
    expect(h.client.tokenExpiresAt).toBeUndefined();
    expect(h.refreshes).toMatchObject([{ expiresAt: undefined, ok: true }]);
  });

  it('with a static token, expiring is ignored; 4440 reconnects once, at once, with the same token', () => {
    const h = setup({ token: 'static', pingIntervalMs: 0 });
    h.socket.welcome({ expiresInMs: 1000 });
    h.socket.push(expiring(500));
    expect(h.socket.sent).toEqual([]);
    h.socket.drop(4440, 'token expired');
    expect(h.lastChange).toEqual({
      state: 'reconnecting',
      attempt: 1,
      delayMs: 0,
      code: 4440,
      reason: 'token expired',
      cause: 'expired',
      willRetry: true,
    });
    vi.advanceTimersByTime(0);
    expect(h.sockets).toHaveLength(2);
    expect(h.socket.protocols).toContain('bearer.static');
    h.socket.drop(4401, 'unauthorized'); // the server refuses the expired token: stop
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'refused' });
  });

  it('4440 with getToken: reconnects at once with a fresh token, rooms rejoined', async () => {
    const h = await openWithExpiry();
    h.socket.drop(4440, 'token expired');
    expect(h.lastChange).toMatchObject({ cause: 'expired', delayMs: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.getToken).toHaveBeenCalledTimes(2);
    expect(h.socket.protocols).toContain('bearer.t2');
    h.socket.welcome({ expiresInMs: 60_000 });
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'lobby' }]]);
  });

  it('4440 on a recovery connection: the new connection resumes the session', async () => {
    const h = await openWithExpiry();
    h.socket.drop(1006); // reopen on a recovery server
    await vi.advanceTimersByTimeAsync(1000);
    h.socket.open('ws-hub.recovery');
    h.socket.push({
      event: 'welcome',
      data: {
        ...WELCOME,
        expiresInMs: 60_000,
        recovery: { session: 'S1', recovered: false, streams: { all: { epoch: 'e', offset: 4 } } },
      },
    });
    await vi.advanceTimersByTimeAsync(60_000); // stable by then: the reconnect is immediate
    h.socket.drop(4440, 'token expired');
    await vi.advanceTimersByTimeAsync(0);
    await flush();
    expect(h.sockets).toHaveLength(3);
    h.socket.open('ws-hub.recovery');
    expect(h.socket.sent[0]).toEqual({
      event: 'recover',
      data: { session: 'S1', streams: { all: { epoch: 'e', offset: 4 } } },
    });
  });

  it('4440 again right after: backoff from the second attempt on (no tight loop)', async () => {
    const h = await openWithExpiry({ random: () => 1 });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      h.socket.drop(4440, 'token expired');
      delays.push((h.lastChange as { delayMs: number }).delayMs);
      await vi.advanceTimersByTimeAsync(delays[i]);
      h.socket.welcome({ expiresInMs: 0 });
    }
    expect(delays).toEqual([0, 1000, 2000]);
  });
});

describe('token refresh refused: the client stops (cause refused)', () => {
  it.each(['TOKEN_REFUSED', 'TOKEN_USER_MISMATCH'])('%s', async (code) => {
    const h = await openWithExpiry();
    h.socket.push(expiring(5000));
    await flush();
    h.socket.reply('refresh', 'error', { code, message: 'no' });
    await flush();
    expect(h.refreshes).toEqual([
      { expiresAt: Date.now() + 5000, ok: false, error: expect.any(HubRequestError) },
    ]);
    expect(h.refreshes[0].error).toMatchObject({ code });
    expect(h.lastChange).toEqual({
      state: 'closed',
      code: 4401,
      reason: 'token refresh failed: no',
      cause: 'refused',
      willRetry: false,
      discarded: 0,
    });
    expect(h.socket.closedWith).toEqual({ code: 1000, reason: 'token refused' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('getToken throws, rejects or returns nothing for a refresh', async () => {
    for (const fail of [
      () => {
        throw new Error('logged out');
      },
      () => Promise.reject(new Error('auth server says no')),
      () => undefined,
    ]) {
      const h = await openWithExpiry();
      h.getToken.mockImplementation(fail as never);
      h.socket.push(expiring(5000));
      await flush();
      expect(h.socket.sent).toEqual([]);
      expect(h.refreshes).toMatchObject([{ ok: false }]);
      expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'refused', code: 4401 });
    }
  });

  it('getToken fails for the reconnect after 4440: stops; on an ordinary reconnect: retried', async () => {
    const h = await openWithExpiry();
    h.getToken.mockRejectedValueOnce(new Error('auth server down'));
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', cause: 'token' });
    await vi.advanceTimersByTimeAsync(1000);
    h.socket.welcome({ expiresInMs: 60_000 });
    await vi.advanceTimersByTimeAsync(60_000); // stable: the attempt count is back to 0
    h.getToken.mockResolvedValueOnce(undefined as never);
    h.socket.drop(4440, 'token expired');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.lastChange).toMatchObject({
      state: 'closed',
      cause: 'refused',
      reason: 'getToken failed: no token',
    });
  });

  it('a refresh that times out or hits another error keeps the connection', async () => {
    const h = await openWithExpiry({ requestTimeoutMs: 1000 });
    h.socket.push(expiring(5000));
    await flush();
    vi.advanceTimersByTime(1000);
    await flush();
    h.socket.push(expiring(4000));
    await flush();
    h.socket.reply('refresh', 'error', { code: 'RATE_LIMITED', message: 'slow down' });
    await flush();
    expect(h.refreshes.map((r) => [r.ok, (r.error as Error).constructor])).toEqual([
      [false, HubTimeoutError],
      [false, HubRequestError],
    ]);
    expect(h.client.state).toBe('open');
  });
});

describe('token refresh races', () => {
  it('two expiring frames at once: one getToken call, one refresh frame', async () => {
    const { getToken, calls } = manualTokens();
    const h = setup({ getToken, pingIntervalMs: 0 });
    await flush();
    calls[0].resolve('t1');
    await flush();
    h.socket.welcome({ expiresInMs: 10_000 });
    h.socket.push(expiring(9000));
    h.socket.push(expiring(8999));
    await flush();
    expect(getToken).toHaveBeenCalledTimes(2);
    calls[1].resolve('t2');
    await flush();
    expect(h.socket.sent.filter((f) => f.event === 'refresh')).toHaveLength(1);
    expect(h.client.tokenExpiresAt).toBe(Date.now() + 8999);
  });

  it('a refresh crossing an expiry close: reported failed, then a fresh token and a reconnect at once', async () => {
    const h = await openWithExpiry();
    h.socket.push(expiring(1000));
    await flush();
    expect(h.socket.last('refresh')).toBeDefined(); // sent, the reply is not back yet
    h.socket.drop(4440, 'token expired');
    await flush();
    expect(h.refreshes).toMatchObject([{ ok: false, error: expect.any(HubDisconnectedError) }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.getToken).toHaveBeenCalledTimes(3); // the refresh's, then a fresh one for the reconnect
    expect(h.socket.protocols).toContain('bearer.t3');
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', cause: 'expired' });
    h.socket.welcome({ expiresInMs: 60_000 });
    expect(h.client.state).toBe('open');
  });

  it('getToken slower than the remaining lifetime: the reconnect after 4440 waits for that same call', async () => {
    const { getToken, calls } = manualTokens();
    const h = setup({ getToken, pingIntervalMs: 0 });
    const refreshes: HubTokenRefresh[] = [];
    h.client.onTokenRefresh((r) => refreshes.push(r));
    await flush();
    calls[0].resolve('t1');
    await flush();
    h.socket.welcome({ expiresInMs: 2000 });
    h.socket.push(expiring(1000));
    await flush();
    expect(getToken).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    h.socket.drop(4440, 'token expired'); // getToken has not answered yet
    await vi.advanceTimersByTimeAsync(5000);
    expect(getToken).toHaveBeenCalledTimes(2); // single flight: no second call
    expect(h.sockets).toHaveLength(1);
    calls[1].resolve('t2');
    await flush();
    expect(h.sockets).toHaveLength(2);
    expect(h.socket.protocols).toContain('bearer.t2');
    expect(h.sockets[0].sent.filter((f) => f.event === 'refresh')).toEqual([]);
    expect(h.socket.sent).toEqual([]); // the new connection has the token: no refresh on it
    expect(refreshes).toMatchObject([{ ok: false, error: expect.any(HubDisconnectedError) }]);
    expect(h.client.state).not.toBe('closed');
  });

  it('a refresh during a reconnect: the attempt shares the pending getToken call', async () => {
    const { getToken, calls } = manualTokens();
    const h = setup({ getToken, pingIntervalMs: 0 });
    await flush();
    calls[0].resolve('t1');
    await flush();
    h.socket.welcome({ expiresInMs: 60_000 });
    h.socket.push(expiring(30_000));
    await flush();
    h.socket.drop(1006); // the network drops while getToken runs
    await vi.advanceTimersByTimeAsync(250);
    expect(getToken).toHaveBeenCalledTimes(2);
    calls[1].resolve('t2');
    await flush();
    expect(h.sockets).toHaveLength(2);
    expect(h.socket.protocols).toContain('bearer.t2');
    h.socket.welcome({ expiresInMs: 60_000 });
    expect(h.socket.sent).toEqual([]);
    expect(h.client.state).toBe('open');
    // a later expiring on the new connection is answered as usual
    h.socket.push(expiring(10_000));
    await flush();
    expect(getToken).toHaveBeenCalledTimes(3);
  });

  it('a clock skew of several seconds changes nothing: the server says when, relative', async () => {
    const h = await openWithExpiry();
    // the server's clock is 9 s behind: its epoch is in the past for this clock
    h.socket.push({
      event: 'expiring',
      data: { expiresAt: Date.now() - 9000 + 5000, expiresInMs: 5000 },
    });
    await flush();
    expect(h.client.tokenExpiresAt).toBe(Date.now() + 5000);
    h.socket.reply('refresh', 'refreshed', {
      expiresAt: Date.now() - 9000 + 60_000,
      expiresInMs: 60_000,
    });
    await flush();
    expect(h.client.tokenExpiresAt).toBe(Date.now() + 60_000);
    expect(h.refreshes).toMatchObject([{ ok: true, expiresAt: Date.now() + 60_000 }]);
  });
});

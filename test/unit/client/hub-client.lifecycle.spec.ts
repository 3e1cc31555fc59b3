import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubDisconnectedError } from '../../../src/ws-hub/client/index.js';
import { capture, flush, setup, WELCOME } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function joined(h: ReturnType<typeof setup>, room: string) {
  const r = capture(h.client.join(room));
  h.socket.reply('join', 'joined', { room });
  await flush();
  expect(r.value).toEqual({ room });
}

describe('ready()', () => {
  it('resolves with the welcome at the next open, or at once when open', async () => {
    const h = setup();
    const first = capture(h.client.ready());
    await flush();
    expect(first.settled).toBe(false);
    h.socket.welcome();
    await flush();
    expect(first.value).toEqual(WELCOME);
    expect(await h.client.ready()).toBe(h.client.welcome);
  });

  it('waits through reconnects', async () => {
    const h = setup();
    const r = capture(h.client.ready());
    h.socket.drop(1006);
    vi.advanceTimersByTime(250);
    h.socket.drop(1006);
    await flush();
    expect(r.settled).toBe(false);
    vi.advanceTimersByTime(500);
    h.socket.welcome({ clientId: 'c2' });
    await flush();
    expect(r.value).toMatchObject({ clientId: 'c2' });
  });

  it('rejects with HubDisconnectedError when the client stops first, or at once when closed', async () => {
    const h = setup();
    const r = capture(h.client.ready());
    h.socket.drop(4401, 'unauthorized');
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    expect(r.error.message).toBe('client closed (refused)');
    await expect(h.client.ready()).rejects.toThrow('client closed');
  });
});

describe('connect(), autoConnect: false, close()', () => {
  it('autoConnect: false waits, closed, for connect(), which reports connecting', async () => {
    const h = setup({ autoConnect: false });
    expect(h.client.state).toBe('closed');
    expect(h.sockets).toHaveLength(0);
    await expect(h.client.send('message', 1)).rejects.toThrow(HubDisconnectedError);
    h.client.connect();
    expect(h.changes).toEqual([{ state: 'connecting' }]);
    expect(h.sockets).toHaveLength(1);
    const ready = capture(h.client.ready());
    h.socket.welcome();
    await flush();
    expect(ready.value).toEqual(WELCOME);
    h.client.connect(); // open: nothing to do
    expect(h.sockets).toHaveLength(1);
  });

  it('connect() after close() starts afresh and rejoins the rooms', async () => {
    const h = setup({ random: () => 1 });
    h.socket.welcome();
    await joined(h, 'lobby');
    h.socket.drop(1006);
    vi.advanceTimersByTime(500);
    h.socket.drop(1006); // attempt 2
    h.client.close();
    expect(h.client.state).toBe('closed');
    expect([...h.client.rooms]).toEqual(['lobby']);
    h.client.connect();
    expect(h.sockets).toHaveLength(3);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'lobby' }]]);
    h.socket.drop(1006);
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', attempt: 1, delayMs: 500 });
  });

  it('connect() while waiting to reconnect tries at once', () => {
    const h = setup();
    h.socket.welcome();
    h.socket.drop(1006);
    expect(h.sockets).toHaveLength(1);
    h.client.connect();
    expect(h.sockets).toHaveLength(2);
    vi.advanceTimersByTime(5000); // past the 250 ms the retry was to wait (not the connect timeout)
    expect(h.sockets).toHaveLength(2); // the cancelled retry does not fire as well
  });

  it('a getToken still pending when close() and connect() run opens one socket only', async () => {
    const h = setup({
      getToken: () => new Promise<string>((resolve) => setTimeout(() => resolve('t'), 100)),
    });
    h.client.close();
    h.client.connect();
    await vi.advanceTimersByTimeAsync(100);
    expect(h.sockets).toHaveLength(1);
  });
});

describe('setToken()', () => {
  it('takes effect on the next attempt, rooms kept: a refused client reconnects with it', async () => {
    const h = setup({ token: 'old' });
    h.socket.welcome();
    await joined(h, 'lobby');
    h.socket.drop(1006);
    h.client.setToken('new');
    vi.advanceTimersByTime(250);
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.new']);
    h.socket.drop(4401, 'unauthorized');
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'refused' });
    h.client.setToken('newer');
    h.client.connect();
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.newer']);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'lobby' }]]);
  });

  it('accepts a getToken function, and undefined for no token', async () => {
    const h = setup({ token: 'static' });
    h.socket.welcome();
    h.client.setToken(async () => 'from-fn');
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery', 'bearer.from-fn']);
    h.client.setToken(undefined);
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery']);
  });
});

describe('browser online / offline', () => {
  /** A stand-in for `window`: the client listens on globalThis. */
  function stubWindow() {
    const target = new EventTarget();
    const add = vi.spyOn(target, 'addEventListener');
    const remove = vi.spyOn(target, 'removeEventListener');
    vi.stubGlobal('addEventListener', target.addEventListener.bind(target));
    vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target));
    return { fire: (type: string) => target.dispatchEvent(new Event(type)), add, remove };
  }

  it('back online while waiting to reconnect: tries at once', () => {
    const win = stubWindow();
    const h = setup({ random: () => 1 });
    for (let i = 0; i < 5; i++) {
      h.socket.drop(1006);
      vi.advanceTimersByTime((h.lastChange as { delayMs: number }).delayMs);
    }
    h.socket.drop(1006); // now waiting 16 s
    expect(h.sockets).toHaveLength(6);
    win.fire('online');
    expect(h.sockets).toHaveLength(7);
    vi.advanceTimersByTime(16_000);
    expect(h.sockets).toHaveLength(7);
  });

  it('offline while open: pings at once and gives the connection 3 s to answer', () => {
    const win = stubWindow();
    const h = setup();
    h.socket.welcome();
    win.fire('offline');
    expect(h.socket.sent).toEqual([{ event: 'ping', id: expect.any(Number) }]);
    vi.advanceTimersByTime(2999);
    expect(h.client.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(h.socket.closedWith).toEqual({ code: 4000, reason: 'pong timeout' });
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', cause: 'timeout' });
  });

  it('offline on a live connection: the pong keeps it open', () => {
    const win = stubWindow();
    const h = setup({ pongTimeoutMs: 1000 });
    h.socket.welcome({ pingIntervalMs: 0 });
    win.fire('offline'); // deadline: min(pongTimeoutMs, 3 s)
    h.socket.reply('ping', 'pong', { ts: 1 });
    vi.advanceTimersByTime(60_000);
    expect(h.client.state).toBe('open');
    win.fire('offline');
    vi.advanceTimersByTime(1000);
    expect(h.client.state).toBe('reconnecting');
  });

  it('listens only while not closed: close() removes both listeners, connect() adds them back', () => {
    const win = stubWindow();
    const h = setup();
    expect(win.add.mock.calls.map((c) => c[0])).toEqual(['online', 'offline']);
    h.client.close();
    expect(win.remove.mock.calls.map((c) => c[0])).toEqual(['online', 'offline']);
    expect(win.remove.mock.calls.map((c) => c[1])).toEqual(win.add.mock.calls.map((c) => c[1]));
    win.fire('online');
    expect(h.sockets).toHaveLength(1);
    h.client.connect();
    expect(win.add).toHaveBeenCalledTimes(4);
  });

  it('does nothing where there is no addEventListener (Node)', () => {
    expect((globalThis as { addEventListener?: unknown }).addEventListener).toBeUndefined();
    const h = setup();
    h.socket.welcome();
    h.client.close();
    expect(h.client.state).toBe('closed');
  });
});

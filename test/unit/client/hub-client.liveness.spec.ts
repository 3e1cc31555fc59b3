import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const pings = (sent: any[]) => sent.filter((f) => f.event === 'ping');

describe('liveness', () => {
  it('pings on the welcome interval while pongs come back', () => {
    const h = setup();
    h.socket.welcome({ pingIntervalMs: 1000 });
    vi.advanceTimersByTime(999);
    expect(pings(h.socket.sent)).toEqual([]);
    for (let i = 1; i <= 5; i++) {
      vi.advanceTimersByTime(i === 1 ? 1 : 1000);
      expect(pings(h.socket.sent)).toHaveLength(i);
      const ping = h.socket.last('ping');
      expect(ping).toEqual({ event: 'ping', id: expect.any(Number) });
      h.socket.push({ event: 'pong', id: ping.id, data: { ts: 1 } });
    }
    vi.advanceTimersByTime(60_000);
    expect(h.client.state).toBe('reconnecting'); // pongs stopped
  });

  it('no pong within pongTimeoutMs: closes the socket (4000) and reconnects', () => {
    const h = setup({ pongTimeoutMs: 3000 });
    h.socket.welcome({ pingIntervalMs: 1000 });
    vi.advanceTimersByTime(1000);
    expect(pings(h.socket.sent)).toHaveLength(1);
    vi.advanceTimersByTime(2999);
    expect(pings(h.socket.sent)).toHaveLength(1); // no second ping while one is unanswered
    expect(h.client.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(h.socket.closedWith).toEqual({ code: 4000, reason: 'pong timeout' });
    expect(h.lastChange).toMatchObject({
      state: 'reconnecting',
      code: 4000,
      cause: 'timeout',
      willRetry: true,
    });
    vi.advanceTimersByTime(250);
    expect(h.sockets).toHaveLength(2);
  });

  it('any frame counts as a sign of life', () => {
    const h = setup({ pongTimeoutMs: 500 });
    h.socket.welcome({ pingIntervalMs: 1000 });
    vi.advanceTimersByTime(1000); // first ping
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(400);
      h.socket.push({ event: 'news', data: i }); // not a pong, but proof of life
      vi.advanceTimersByTime(600); // next ping
    }
    expect(h.client.state).toBe('open');
    expect(pings(h.socket.sent)).toHaveLength(6);
    vi.advanceTimersByTime(500);
    expect(h.client.state).toBe('reconnecting');
  });

  it('pingIntervalMs overrides the welcome; 0 disables pings', () => {
    const custom = setup({ pingIntervalMs: 200 });
    custom.socket.welcome({ pingIntervalMs: 60_000 });
    vi.advanceTimersByTime(200);
    expect(pings(custom.socket.sent)).toHaveLength(1);
    custom.client.close();
    const off = setup({ pingIntervalMs: 0 });
    off.socket.welcome();
    vi.advanceTimersByTime(600_000);
    expect(pings(off.socket.sent)).toHaveLength(0);
    expect(off.client.state).toBe('open');
  });

  it('close() clears the ping, pong and stable timers', () => {
    const h = setup();
    h.socket.welcome({ pingIntervalMs: 1000 });
    vi.advanceTimersByTime(1000); // a pong timer is running
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    h.client.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

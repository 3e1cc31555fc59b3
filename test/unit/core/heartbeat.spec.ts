import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { HeartbeatScheduler } from '../../../src/ws-hub/core/heartbeat.js';

function fakeClient(n: number): Connection {
  return new Connection(`c${n}`, {} as never, 0, '127.0.0.1', undefined);
}

describe('HeartbeatScheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('uses one timer for all clients and spreads pings across the interval', () => {
    const pings: [string, number][] = [];
    const hb = new HeartbeatScheduler(
      1000,
      2,
      (c) => pings.push([c.id, Date.now()]),
      () => undefined,
    );
    const clients = Array.from({ length: 100 }, (_, i) => fakeClient(i));
    clients.forEach((c) => hb.add(c));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(pings).toHaveLength(100);
    // a tick every 20 ms: 50 buckets of 2, never more than a fiftieth of the clients at once
    const perInstant = new Map<number, number>();
    for (const [, t] of pings) perInstant.set(t, (perInstant.get(t) ?? 0) + 1);
    expect(Math.max(...perInstant.values())).toBe(2);
    expect(perInstant.size).toBe(50);
    clients.forEach((c) => hb.remove(c));
    expect(vi.getTimerCount()).toBe(0);
    expect(hb.running).toBe(false);
  });

  it('times out a silent client after maxMissedPongs rounds and keeps answering ones', () => {
    const timedOut: string[] = [];
    const hb = new HeartbeatScheduler(
      1000,
      2,
      () => undefined,
      (c) => {
        timedOut.push(c.id);
        hb.remove(c);
      },
    );
    const silent = fakeClient(1);
    const healthy = fakeClient(2);
    hb.add(silent);
    hb.add(healthy);
    for (let round = 0; round < 10; round++) {
      vi.advanceTimersByTime(1000);
      healthy.alive = true; // its pong arrived
    }
    expect(timedOut).toEqual(['c1']);
    // silent at t=0 (registration counts as a frame): evicted within (2 + 1) * interval
    hb.stop();
  });

  it('evicts within (maxMissedPongs + 1) * interval of the last frame', () => {
    let evictedAt = -1;
    const hb = new HeartbeatScheduler(
      1000,
      3,
      () => undefined,
      (c) => {
        evictedAt = Date.now();
        hb.remove(c);
      },
    );
    const c = fakeClient(1);
    hb.add(c);
    vi.advanceTimersByTime(2500);
    c.alive = true; // a frame arrived at t = 2500
    vi.advanceTimersByTime(10_000);
    expect(evictedAt).toBeGreaterThan(2500);
    expect(evictedAt - 2500).toBeLessThanOrEqual(4 * 1000);
  });

  it('does not count a miss when the event loop was blocked past the interval', () => {
    const timedOut: string[] = [];
    const hb = new HeartbeatScheduler(
      1000,
      1,
      () => undefined,
      (c) => timedOut.push(c.id),
    );
    const c = fakeClient(1);
    hb.add(c);
    vi.advanceTimersByTime(1000); // pinged, alive reset to false
    // simulate a 5 s stall: the next visit comes late and must not evict
    vi.setSystemTime(6000);
    hb.tick(6000);
    expect(timedOut).toEqual([]);
    hb.stop();
  });
});

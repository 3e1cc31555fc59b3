import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { TokenExpiry } from '../../../src/ws-hub/core/token-expiry.js';

afterEach(() => {
  vi.useRealTimers();
});

const clientOf = (id: string, expiresAt?: number) =>
  new Connection(id, {} as never, Date.now(), '127.0.0.1', { userId: id, expiresAt });

describe('TokenExpiry', () => {
  it('asks once refreshBeforeMs early, then expires; a renewal moves both; one timer for all', () => {
    vi.useFakeTimers({ now: 0 });
    const log: string[] = [];
    const expiry = new TokenExpiry(
      10_000,
      (c, text) => log.push(`${Date.now()} ${c.id} ${JSON.parse(text).event}`),
      (c) => log.push(`${Date.now()} ${c.id} expired`),
      Date.now,
      250,
      () => 0,
    );
    const clients = Array.from({ length: 1000 }, (_, i) => clientOf(`c${i}`, 60_000 + i));
    for (const c of clients) expiry.track(c);
    expiry.track(clientOf('never')); // no expiry: not watched
    expect(expiry.size).toBe(1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50_000 + 1_000);
    expect(log.filter((l) => l.endsWith('expiring'))).toHaveLength(1000);
    expect(log[0]).toBe('50000 c0 expiring');
    // c1 refreshes; the others expire at their expiry, never before it.
    expect(expiry.renewed(clients[1], { userId: 'c1', expiresAt: 200_000 })).toEqual({
      expiresAt: 200_000,
      expiresInMs: 149_000,
    });
    vi.advanceTimersByTime(10_000);
    const expired = log.filter((l) => l.endsWith('expired'));
    expect(expired).toHaveLength(999);
    for (const line of expired) {
      const [at, id] = line.split(' ');
      const due = 60_000 + Number(id.slice(1));
      expect(Number(at)).toBeGreaterThanOrEqual(due);
      expect(Number(at) - due).toBeLessThan(250);
    }
    expect(expiry.size).toBe(1);
    expiry.remove(clients[1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('asks a short token at half its lifetime; a renewal without expiry stops watching', () => {
    vi.useFakeTimers({ now: 0 });
    const asked: number[] = [];
    const expiry = new TokenExpiry(
      60_000,
      () => asked.push(Date.now()),
      () => {},
      Date.now,
      250,
      () => 0,
    );
    const c = clientOf('a', 4_000);
    expiry.track(c);
    vi.advanceTimersByTime(2_500);
    expect(asked).toEqual([2_000]);
    expect(expiry.renewed(c, { userId: 'a' })).toEqual({});
    expect(c.expiresAt).toBeUndefined();
    expect(expiry.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a refresh with the same token (no later expiry) is not asked for again', () => {
    vi.useFakeTimers({ now: 0 });
    const log: string[] = [];
    const expiry = new TokenExpiry(
      10_000,
      () => log.push(`${Date.now()} expiring`),
      () => log.push(`${Date.now()} expired`),
      Date.now,
      250,
      () => 0,
    );
    const c = clientOf('a', 60_000);
    expiry.track(c);
    vi.advanceTimersByTime(51_000);
    expiry.renewed(c, { userId: 'a', expiresAt: 60_000 });
    vi.advanceTimersByTime(10_000);
    expect(log).toEqual(['50000 expiring', '60000 expired']);
  });

  it('spreads the asks of connections opened together over a quarter of refreshBeforeMs', () => {
    vi.useFakeTimers({ now: 0 });
    const asked: number[] = [];
    const expiry = new TokenExpiry(
      60_000,
      () => asked.push(Date.now()),
      () => {},
    );
    for (let i = 0; i < 1000; i++) expiry.track(clientOf(`c${i}`, 120_000));
    vi.advanceTimersByTime(61_000);
    expect(asked).toHaveLength(1000);
    expect(Math.min(...asked)).toBeGreaterThanOrEqual(45_000);
    expect(Math.max(...asked)).toBeLessThanOrEqual(60_250);
    // spread: no 250 ms bucket holds more than a few percent of them
    const perBucket = new Map<number, number>();
    for (const t of asked) perBucket.set(t, (perBucket.get(t) ?? 0) + 1);
    expect(Math.max(...perBucket.values())).toBeLessThan(50);
    expiry.clear();
  });
});

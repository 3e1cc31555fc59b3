import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from '../../../src/ws-hub/core/deadlines.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Deadlines', () => {
  it('fires each item once, never before its deadline and within one resolution after it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const fired: [string, number][] = [];
    const d = new Deadlines<string>((item) => fired.push([item, Date.now()]), 250);
    d.set('a', 1_000_600);
    d.set('b', 1_000_100);
    d.set('c', 1_005_000);
    vi.advanceTimersByTime(10_000);
    expect(fired.map(([i]) => i)).toEqual(['b', 'a', 'c']);
    const at = { a: 1_000_600, b: 1_000_100, c: 1_005_000 } as Record<string, number>;
    for (const [item, when] of fired) {
      expect(when).toBeGreaterThanOrEqual(at[item]);
      expect(when - at[item]).toBeLessThan(250);
    }
    expect(d.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('moves and removes deadlines; one timer whatever the number of items', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: number[] = [];
    const d = new Deadlines<number>((item) => fired.push(item), 100);
    for (let i = 0; i < 10_000; i++) d.set(i, 1_000 + (i % 50) * 100);
    expect(vi.getTimerCount()).toBe(1);
    d.set(7, 50_000); // moved later
    d.delete(8);
    expect(d.has(8)).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(fired).toHaveLength(9_998);
    expect(fired).not.toContain(7);
    vi.advanceTimersByTime(40_000);
    expect(fired.at(-1)).toBe(7);
    d.set(1, 60_000);
    d.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an item set while others fire (a refresh moving its own deadline) waits for its new time', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: string[] = [];
    const d: Deadlines<string> = new Deadlines<string>((item) => {
      fired.push(item);
      if (item === 'warn') d.set('expire', Date.now() + 1_000);
    }, 100);
    d.set('warn', 500);
    vi.advanceTimersByTime(600);
    expect(fired).toEqual(['warn']);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(['warn', 'expire']);
  });
});

import { describe, expect, it } from 'vitest';
import { backoffDelay, RECONNECT_DEFAULTS } from '../../../src/ws-hub/client/backoff.js';

const opts = { initialDelayMs: 500, maxDelayMs: 30_000 };

describe('backoffDelay', () => {
  it('has the documented defaults', () => {
    expect(RECONNECT_DEFAULTS).toEqual({
      initialDelayMs: 500,
      maxDelayMs: 30_000,
      stableAfterMs: 10_000,
    });
  });

  it('is 0 when random() is 0 (full jitter reaches down to zero)', () => {
    for (let attempt = 0; attempt < 20; attempt++)
      expect(backoffDelay(attempt, opts, () => 0)).toBe(0);
  });

  it('reaches min(max, initial * 2^attempt) when random() is 1', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7, 30].map((a) => backoffDelay(a, opts, () => 1));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('stays within [0, cap) for any random value and spreads over the window', () => {
    const seen = new Set<number>();
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(30_000, 500 * 2 ** attempt);
      for (const r of [0.001, 0.25, 0.5, 0.75, 0.999]) {
        const delay = backoffDelay(attempt, opts, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(cap);
        seen.add(delay);
      }
    }
    expect(backoffDelay(3, opts, () => 0.5)).toBe(2000);
    expect(seen.size).toBeGreaterThanOrEqual(30);
  });
});

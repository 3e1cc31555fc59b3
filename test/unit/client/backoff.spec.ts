import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  RECONNECT_DEFAULTS,
  retryDelay,
} from '../../../src/ws-hub/client/backoff.js';

const opts = { initialDelayMs: 500, maxDelayMs: 30_000 };

describe('backoffDelay', () => {
  it('has the documented defaults', () => {
    expect(RECONNECT_DEFAULTS).toEqual({
      initialDelayMs: 500,
      maxDelayMs: 30_000,
      stableAfterMs: 10_000,
      restartDelayMs: 1000,
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

describe('retryDelay', () => {
  const options = { ...RECONNECT_DEFAULTS, restartDelayMs: 2000 };

  it('after a drain (restart): random(0, restartDelayMs), whatever the attempt', () => {
    expect(retryDelay('restart', 0, options, () => 0)).toBe(0);
    expect(retryDelay('restart', 5, options, () => 0.5)).toBe(1000);
    expect(retryDelay('restart', 9, options, () => 0.9999)).toBe(1999);
  });

  it('after an expiry (renew): at once for the first attempt, then the backoff', () => {
    expect(retryDelay('renew', 0, options, () => 1)).toBe(0);
    expect(retryDelay('renew', 1, options, () => 1)).toBe(1000);
    expect(retryDelay('renew', 2, options, () => 1)).toBe(2000);
  });

  it('retry: the backoff; slow: the backoff after maxDelayMs', () => {
    expect(retryDelay('retry', 0, options, () => 1)).toBe(500);
    expect(retryDelay('retry', 3, options, () => 0.5)).toBe(2000);
    expect(retryDelay('slow', 0, options, () => 0)).toBe(30_000);
    expect(retryDelay('slow', 1, options, () => 1)).toBe(31_000);
  });
});

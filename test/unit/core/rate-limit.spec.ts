import { describe, expect, it } from 'vitest';
import { takeToken } from '../../../src/ws-hub/core/rate-limit.js';

const limit = { messagesPerSecond: 10, burst: 3 };

describe('takeToken', () => {
  it('lets a burst through, then refuses until time refills the bucket', () => {
    const bucket = { tokens: 3, lastRefillMs: 0 };
    expect([1, 2, 3, 4].map(() => takeToken(bucket, limit, 0))).toEqual([true, true, true, false]);
    expect(takeToken(bucket, limit, 50)).toBe(false); // half a token
    expect(takeToken(bucket, limit, 100)).toBe(true); // 10/s: one token per 100 ms
    expect(takeToken(bucket, limit, 100)).toBe(false);
  });

  it('never holds more than the burst', () => {
    const bucket = { tokens: 0, lastRefillMs: 0 };
    takeToken(bucket, limit, 60_000);
    expect(bucket.tokens).toBe(2); // refilled to 3, one taken
  });

  it('a clock going back refills nothing', () => {
    const bucket = { tokens: 0, lastRefillMs: 1_000 };
    expect(takeToken(bucket, limit, 500)).toBe(false);
    expect(bucket.lastRefillMs).toBe(500);
  });
});

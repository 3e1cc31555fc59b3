import type { HubRateLimitOptions } from '../interfaces/options.interface.js';

/** A client's token bucket, kept on the client record. */
interface TokenBucket {
  tokens: number;
  lastRefillMs: number;
}

/**
 * Refills the bucket for the time since its last refill and takes one token; false when the
 * bucket is empty (the frame is over the rate). `nowMs` must be monotonic: a wall-clock step
 * back must not starve healthy clients.
 */
export function takeToken(
  bucket: TokenBucket,
  limit: Required<Pick<HubRateLimitOptions, 'messagesPerSecond' | 'burst'>>,
  nowMs: number,
): boolean {
  const refill = ((nowMs - bucket.lastRefillMs) * limit.messagesPerSecond) / 1000;
  bucket.lastRefillMs = nowMs;
  bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

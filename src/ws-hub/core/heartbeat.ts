import { kConnection, type Connection, type HubSocket } from './connection.js';

/** Upper bound on heartbeat buckets: a tick runs at most every interval/100. */
const MAX_BUCKETS = 100;
/**
 * Shortest tick, in milliseconds. Short enough that even at a 1 s interval with 10k clients a
 * tick pings only a few hundred sockets (well under a millisecond of work).
 */
const MIN_TICK_MS = 20;

/** A socket's `pong` listener: the client answered, so it is alive. */
export const markAlive = function markAlive(this: HubSocket): void {
  const client = this[kConnection];
  if (client) client.alive = true;
};

/**
 * One timer for every client. Clients are spread over buckets and one bucket is visited per
 * tick, so with 10k clients the pings leave in small batches across the interval instead of
 * one burst that would stall the event loop.
 */
export class HeartbeatScheduler {
  private readonly buckets: Set<Connection>[];
  private readonly tickMs: number;
  private readonly lastVisitMs: number[];
  private cursor = 0;
  private nextBucket = 0;
  private timer: NodeJS.Timeout | undefined;
  private size = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly maxMissedPongs: number,
    private readonly ping: (client: Connection) => void,
    private readonly timeout: (client: Connection) => void,
  ) {
    const count = Math.max(1, Math.min(MAX_BUCKETS, Math.floor(intervalMs / MIN_TICK_MS)));
    this.buckets = Array.from({ length: count }, () => new Set<Connection>());
    this.lastVisitMs = Array.from({ length: count }, () => 0);
    this.tickMs = intervalMs / count;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  add(client: Connection): void {
    client.bucket = this.nextBucket;
    this.nextBucket = (this.nextBucket + 1) % this.buckets.length;
    this.buckets[client.bucket].add(client);
    if (++this.size === 1) this.start();
  }

  remove(client: Connection): void {
    if (client.bucket < 0) return;
    if (this.buckets[client.bucket].delete(client) && --this.size === 0) this.stop();
    client.bucket = -1;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    if (this.timer) return;
    this.lastVisitMs.fill(Date.now());
    this.timer = setInterval(() => this.tick(), this.tickMs);
    // The HTTP server keeps the process alive; the heartbeat alone must not.
    this.timer.unref();
  }

  /** Visits one bucket; exposed for tests driving time by hand. */
  tick(nowMs = Date.now()): void {
    const index = this.cursor;
    this.cursor = (this.cursor + 1) % this.buckets.length;
    // If this visit comes far later than scheduled, the event loop was blocked and pongs may be
    // sitting unread in socket buffers: counting a miss now would evict healthy clients.
    const lagged = nowMs - this.lastVisitMs[index] > this.intervalMs * 1.5;
    this.lastVisitMs[index] = nowMs;
    for (const client of this.buckets[index]) {
      if (client.alive) {
        client.missedPongs = 0;
      } else if (!lagged && ++client.missedPongs >= this.maxMissedPongs) {
        this.timeout(client);
        continue;
      }
      client.alive = false;
      this.ping(client);
    }
  }
}

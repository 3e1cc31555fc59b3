/**
 * Per-stream order for messages that reach an instance through several channels at once: in
 * Redis Cluster mode a multi-room message is published on each room's channel, and the
 * channels live on different nodes, each delivering in its own order. Applied at its first copy,
 * such a message could overtake an earlier message of another of its rooms still in flight on
 * that room's channel, and recovering clients would see that room's offsets out of order.
 *
 * So a message is applied once it is next on every channel it is expected on (those this
 * instance is subscribed to); a message behind one waiting on its channel waits too. A copy
 * that does not come within `maxWaitMs` (a node failing over) releases everything waiting: the
 * order is then not guaranteed, and the continuity checks downstream tell the clients.
 */
export class ChannelMerge<T> {
  private readonly queues = new Map<string, Waiting<T>[]>();
  private readonly waiting = new Map<string, Waiting<T>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apply: (item: T) => void,
    private readonly maxWaitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Messages waiting for a copy or for their turn. */
  get size(): number {
    return this.waiting.size + [...this.queues.values()].reduce((n, q) => n + q.length, 0);
  }

  /**
   * A message arrived on `channel`. `key` identifies it across its copies; `channels` are all
   * the channels a copy of it is expected on (`[channel]` for a single-channel message).
   */
  arrive(channel: string, key: string, channels: readonly string[], item: T): void {
    const queue = this.queues.get(channel);
    if (channels.length <= 1 && (queue === undefined || queue.length === 0)) {
      this.apply(item); // nothing ahead of it: the usual case costs nothing
      return;
    }
    let w = this.waiting.get(key);
    if (w === undefined) {
      w = {
        key,
        item,
        needs: new Set(channels.length > 0 ? channels : [channel]),
        arrived: new Set(),
        sinceMs: this.now(),
      };
      this.waiting.set(key, w);
    }
    w.needs.add(channel);
    w.arrived.add(channel);
    if (queue) queue.push(w);
    else this.queues.set(channel, [w]);
    this.pump();
    if (this.waiting.size > 0 && this.timer === undefined) {
      this.timer = setInterval(() => this.expire(), Math.max(10, this.maxWaitMs / 4));
      this.timer.unref();
    }
  }

  /** Drops everything waiting (shutdown). */
  clear(): void {
    this.queues.clear();
    this.waiting.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (const queue of this.queues.values()) {
        const head = queue[0];
        if (head === undefined || !this.ready(head)) continue;
        this.release(head);
        progress = true;
      }
    }
    if (this.waiting.size === 0) this.stopTimer();
  }

  /** Arrived on every channel expected, and next on each. */
  private ready(w: Waiting<T>): boolean {
    for (const channel of w.needs) {
      if (!w.arrived.has(channel) || this.queues.get(channel)?.[0] !== w) return false;
    }
    return true;
  }

  private release(w: Waiting<T>): void {
    for (const channel of w.arrived) {
      const queue = this.queues.get(channel);
      const at = queue?.indexOf(w) ?? -1;
      if (queue && at >= 0) queue.splice(at, 1);
      if (queue?.length === 0) this.queues.delete(channel);
    }
    this.waiting.delete(w.key);
    this.apply(w.item);
  }

  /** Copies that never came: everything waiting goes, in the order it arrived per channel. */
  private expire(): void {
    const oldest = this.now() - this.maxWaitMs;
    let stale = false;
    for (const w of this.waiting.values()) if (w.sinceMs < oldest) stale = true;
    if (!stale) return;
    for (;;) {
      let head: Waiting<T> | undefined;
      for (const queue of this.queues.values()) {
        if (queue[0] && (head === undefined || queue[0].sinceMs < head.sinceMs)) head = queue[0];
      }
      if (head === undefined) break;
      this.release(head);
    }
    this.waiting.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

interface Waiting<T> {
  key: string;
  item: T;
  /** Channels a copy is expected on. */
  needs: Set<string>;
  /** Channels a copy came on. */
  arrived: Set<string>;
  sinceMs: number;
}

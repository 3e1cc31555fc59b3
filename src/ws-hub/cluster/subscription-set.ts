/** Channels subscribed to in one subscribe command when (re)subscribing everything. */
export const SUBSCRIBE_BATCH = 500;

/** The side of the subscriber connection the subscription set uses (any pub/sub transport). */
export interface Subscriber {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
}

/**
 * The channels this instance needs: the source of truth for (re)subscribing. Changes are sent
 * at once while the subscriber is ready; otherwise its next `ready` subscribes to all of them
 * (`subscribeAll`), so rooms joined or left while the transport was away come out right.
 */
export class SubscriptionSet {
  private readonly wanted = new Set<string>();
  private readonly holders = new Map<string, number>();
  private generation = 0;
  private settledGeneration = -1;
  private sub: Subscriber | undefined;

  constructor(private readonly onFailed: (err: unknown) => void) {}

  /** The connection to subscribe on, once it exists. */
  attach(sub: Subscriber): void {
    this.sub = sub;
  }

  get size(): number {
    return this.wanted.size;
  }

  list(): string[] {
    return [...this.wanted];
  }

  has(channel: string): boolean {
    return this.wanted.has(channel);
  }

  want(channel: string): void {
    if (this.wanted.has(channel)) return;
    this.wanted.add(channel);
    const sub = this.sub;
    if (sub?.status === 'ready') sub.subscribe(channel).catch(this.onFailed);
  }

  /**
   * `want` counted per holder: a client channel is wanted while any local connection holds it
   * (a resumed session's id may briefly be here twice).
   */
  hold(channel: string): void {
    const n = this.holders.get(channel) ?? 0;
    this.holders.set(channel, n + 1);
    if (n === 0) this.want(channel);
  }

  /** Undoes one `hold`; the last one unwants the channel. */
  release(channel: string): void {
    const n = this.holders.get(channel);
    if (n === undefined) return;
    if (n > 1) {
      this.holders.set(channel, n - 1);
    } else {
      this.holders.delete(channel);
      this.unwant(channel);
    }
  }

  unwant(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    const sub = this.sub;
    if (sub?.status === 'ready') sub.unsubscribe(channel).catch(this.onFailed);
  }

  /**
   * Subscribes to every wanted channel, `SUBSCRIBE_BATCH` per command; `settled` runs once they
   * are all in effect.
   */
  subscribeAll(settled?: () => void): void {
    const sub = this.sub;
    if (!sub) return;
    const generation = ++this.generation;
    this.settledGeneration = -1;
    const all = [...this.wanted];
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) {
      batches.push(sub.subscribe(...all.slice(i, i + SUBSCRIBE_BATCH)));
    }
    Promise.all(batches).then(() => {
      if (this.generation !== generation) return;
      this.settledGeneration = generation;
      settled?.();
    }, this.onFailed);
  }

  /**
   * Which (re)connection of the subscriber has every wanted channel subscribed: a number that
   * changes at each `subscribeAll`, or -1 while it is down or still resubscribing.
   */
  get settled(): number {
    return this.sub?.status === 'ready' ? this.settledGeneration : -1;
  }

  clear(): void {
    this.wanted.clear();
    this.holders.clear();
  }
}

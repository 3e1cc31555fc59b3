/** A publish waiting for the store's answer. */
export interface PendingPublish<M> {
  message: M;
  streams: string[];
  sentAtMs: number;
  /** The subscriber's generation when sent, -1 when it was not ready. */
  generation: number;
  /** Its copy came back through pub/sub already. */
  received: boolean;
}

/**
 * Recorded publishes waiting for the store's answer, by sequence number (in send order), with
 * the sweep that gives up on those older than `timeoutMs`.
 */
export class PendingPublishes<M> {
  private readonly pending = new Map<number, PendingPublish<M>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** The publishes given up on by one sweep, oldest first. */
    private readonly onLate: (late: PendingPublish<M>[]) => void,
  ) {}

  /** Starts the timeout sweep. */
  start(): void {
    this.timer ??= setInterval(() => this.sweep(), Math.max(20, this.timeoutMs / 4));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  add(seq: number, publish: PendingPublish<M>): void {
    this.pending.set(seq, publish);
  }

  get(seq: number): PendingPublish<M> | undefined {
    return this.pending.get(seq);
  }

  /** Removes and returns `seq`'s publish; undefined when it was answered or given up on. */
  take(seq: number): PendingPublish<M> | undefined {
    const p = this.pending.get(seq);
    if (p) this.pending.delete(seq);
    return p;
  }

  /** Publishes that waited longer than `timeoutMs` are given up on. */
  private sweep(): void {
    if (this.pending.size === 0) return;
    const oldest = Date.now() - this.timeoutMs;
    const late: PendingPublish<M>[] = [];
    for (const [seq, p] of this.pending) {
      if (p.sentAtMs > oldest) break;
      this.pending.delete(seq);
      late.push(p);
    }
    if (late.length > 0) this.onLate(late);
  }
}

import type { EpochSource, StreamKeys, StreamLimits } from './stream-keys.js';
import { MARK_GAP } from './stream-scripts.js';

/** The side of the publisher connection the tombstones use. */
interface GapConnection {
  readonly status: string;
  eval(script: string, numKeys: number | string, ...args: string[]): Promise<unknown>;
}

/**
 * Streams that lost a message (its history write failed, or may have): each gets a tombstone
 * (`MARK_GAP`) once Redis answers, so a resume across the lost message says `recovered: false`
 * (and live recovering clients see the tombstone's offset missing: a gap, so they resume).
 */
export class GapMarks {
  /** Streams that lost a message, with a version bumped at each loss. */
  private readonly lost = new Map<string, number>();
  private flushing = false;
  /** Tombstones written. */
  marked = 0;

  constructor(
    private readonly conn: () => GapConnection | undefined,
    private readonly keys: StreamKeys,
    private readonly epochs: EpochSource,
    private readonly limits: StreamLimits,
  ) {}

  /** Streams waiting for a tombstone. */
  get pending(): number {
    return this.lost.size;
  }

  /** `streams` lost a message. */
  add(streams: readonly string[]): void {
    for (const s of streams) this.lost.set(s, (this.lost.get(s) ?? 0) + 1);
  }

  /** Writes the tombstones of streams that lost messages, if Redis is there. */
  flush(): void {
    const conn = this.conn();
    if (this.flushing || this.lost.size === 0 || conn?.status !== 'ready') return;
    this.flushing = true;
    const { keys, epochs, limits } = this;
    const marks = [...this.lost].map(([stream, version]) =>
      conn
        .eval(
          MARK_GAP,
          2,
          keys.meta(stream),
          keys.history(stream),
          epochs.next(),
          limits.historySize,
          limits.historyTtlMs,
          limits.metaTtlMs,
        )
        .then(
          () => {
            // A loss after this tombstone was sent needs a tombstone of its own.
            if (this.lost.get(stream) === version) this.lost.delete(stream);
            this.marked++;
          },
          () => undefined,
        ),
    );
    void Promise.all(marks).finally(() => {
      this.flushing = false;
    });
  }
}

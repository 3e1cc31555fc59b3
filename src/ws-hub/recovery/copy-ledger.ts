import type { Positions } from '../protocol/streams.js';

/** Client id → the positions of the copy it got (`null`: sent in a replay). */
export type CopyHolders = Map<string, Positions | null>;

/**
 * Who got each message that arrives as several copies (Redis Cluster: a multi-room broadcast
 * comes once per room's channel): the first copy a recovering client gets is the message, the
 * others only advance its positions (`skip`). Copies of one message arrive within milliseconds
 * of each other, so entries live two windows at most (two generations, swapped as time passes:
 * no timer, memory bounded by the multi-copy messages of the last `windowMs` to 2 x `windowMs`).
 */
export class CopyLedger {
  private current = new Map<string, CopyHolders>();
  private previous = new Map<string, CopyHolders>();
  private swappedAtMs: number;

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.swappedAtMs = now();
  }

  /**
   * The clients that got the message `mid` so far, with the positions of the copy each got
   * (`null`: in a replay), filled by its user.
   */
  of(mid: string): CopyHolders {
    const now = this.now();
    if (now - this.swappedAtMs >= this.windowMs) {
      this.previous = now - this.swappedAtMs >= 2 * this.windowMs ? new Map() : this.current;
      this.current = new Map();
      this.swappedAtMs = now;
    }
    let ids = this.current.get(mid);
    if (ids === undefined) {
      ids = this.previous.get(mid) ?? new Map();
      this.current.set(mid, ids);
    }
    return ids;
  }

  /** The positions of the copy of `mid` that `clientId` got (`null`: in a replay), if any. */
  get(mid: string, clientId: string): Positions | null | undefined {
    return (this.current.get(mid) ?? this.previous.get(mid))?.get(clientId);
  }

  /** Messages remembered. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}

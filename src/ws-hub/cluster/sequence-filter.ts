/**
 * Per-origin sequence filter. Where the transport delivers one publisher connection's messages
 * in publish order (Redis, NATS), keeping the highest sequence number seen per origin and
 * dropping anything not above it keeps each publisher's order and removes the extra copies of
 * a multi-room broadcast (one copy per room channel, all with the same number). Memory is one
 * entry per origin, and origins that left are forgotten (`forgetSilent`).
 *
 * What both filters keep per origin: its state, and when it last sent.
 */
abstract class OriginFilter<State extends { at: number }> {
  protected readonly last = new Map<string, State>();

  /** `now` gives milliseconds; only differences between its readings matter. */
  constructor(protected readonly now: () => number = Date.now) {}

  /** Whether `seq` is new for `origin` (and records it); false for a copy. */
  abstract accept(origin: string, seq: number): boolean;

  /** Whether `seq` of `origin` was accepted already (nothing recorded). */
  abstract seen(origin: string, seq: number): boolean;

  /**
   * Forgets the origins that are not `live` and have sent nothing for `silentMs`. A live
   * origin is kept however quiet, and a recent one too, so a message straddling the cleanup
   * cannot be applied twice.
   */
  forgetSilent(live: ReadonlySet<string>, silentMs: number): void {
    const silentSince = this.now() - silentMs;
    for (const [origin, last] of this.last) {
      if (!live.has(origin) && last.at < silentSince) this.last.delete(origin);
    }
  }

  /** Origins remembered. */
  get size(): number {
    return this.last.size;
  }

  clear(): void {
    this.last.clear();
  }
}

export class SequenceFilter extends OriginFilter<{ seq: number; at: number }> {
  seen(origin: string, seq: number): boolean {
    const last = this.last.get(origin);
    return last !== undefined && seq <= last.seq;
  }

  /** Whether `seq` is new for `origin` (and records it); false for a copy or an older message. */
  accept(origin: string, seq: number): boolean {
    const last = this.last.get(origin);
    if (last === undefined) {
      this.last.set(origin, { seq, at: this.now() });
      return true;
    }
    if (seq <= last.seq) return false;
    last.seq = seq;
    last.at = this.now();
    return true;
  }
}

/** Sequence numbers of one origin remembered below its highest by `ReorderingFilter`. */
export const REORDER_WINDOW = 4_096;

/**
 * The filter of a sharded transport (Redis Cluster): one origin's messages go to channels on
 * different shards, so they may arrive out of order. Each (origin, sequence number) is accepted once, in any order, within
 * `REORDER_WINDOW` numbers of the highest seen; older ones count as copies.
 */
export class ReorderingFilter extends OriginFilter<{ max: number; seen: Set<number>; at: number }> {
  seen(origin: string, seq: number): boolean {
    const o = this.last.get(origin);
    return o !== undefined && (seq <= o.max - REORDER_WINDOW || o.seen.has(seq));
  }

  accept(origin: string, seq: number): boolean {
    let o = this.last.get(origin);
    if (o === undefined) {
      o = { max: seq, seen: new Set([seq]), at: this.now() };
      this.last.set(origin, o);
      return true;
    }
    if (seq <= o.max - REORDER_WINDOW || o.seen.has(seq)) return false;
    o.seen.add(seq);
    o.at = this.now();
    if (seq > o.max) o.max = seq;
    if (o.seen.size > 2 * REORDER_WINDOW) {
      for (const s of o.seen) if (s <= o.max - REORDER_WINDOW) o.seen.delete(s);
    }
    return true;
  }
}

/** What the inbox and the adapter use of a filter. */
export type MessageFilter = Pick<
  SequenceFilter,
  'accept' | 'seen' | 'forgetSilent' | 'clear' | 'size'
>;

import { REORDER_WINDOW } from './sequence-filter.js';

/**
 * With recovery on, own recorded messages that this instance handed to its clients itself (the
 * store too slow, or the subscriber away): their copies coming back through pub/sub are
 * dropped. Copies arrive in sequence order (or, `reordering`, within `REORDER_WINDOW`), so
 * older entries are forgotten as newer numbers come.
 */
export class OwnDeliveries {
  private readonly delivered = new Set<number>();

  /** `reordering`: copies come from several shards, in any order (a window is kept). */
  constructor(private readonly reordering: boolean) {}

  /** Message `seq` was handed to the clients here. */
  add(seq: number): void {
    this.delivered.add(seq);
  }

  /** Whether the copy of `seq` is still to be delivered here (false once handed over). */
  accept(seq: number): boolean {
    const here = this.delivered;
    if (here.size === 0) return true;
    const below = this.reordering ? seq - REORDER_WINDOW : seq;
    for (const s of here) if (s < below) here.delete(s);
    return !here.has(seq);
  }

  clear(): void {
    this.delivered.clear();
  }
}

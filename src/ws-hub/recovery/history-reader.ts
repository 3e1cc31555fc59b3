import type { RecoveryStore, StreamHistory, StreamTop } from '../interfaces/recovery.interface.js';
import type { ResolvedRecoveryOptions } from '../options/feature-options.js';
import type { StreamPosition } from '../protocol/streams.js';

/** Rounds of raising tops that replayed entries are past (`settle`) before a resume gives up. */
const MAX_SETTLE_ROUNDS = 4;

/**
 * What a resuming client missed, read from the store: the tops of its streams, then the
 * entries after its positions, within the replay budget, consistent across streams.
 */
export class HistoryReader {
  constructor(
    private readonly store: RecoveryStore,
    private readonly budget: Pick<ResolvedRecoveryOptions, 'maxReplayMessages' | 'maxReplayBytes'>,
  ) {}

  /**
   * Reads what the client missed: first every stream's top (cheap), then, if the total
   * missing is within the replay budget, the entries, stopping at the byte budget.
   */
  async read(
    names: string[],
    asked: ReadonlyMap<string, StreamPosition>,
  ): Promise<{ reads: StreamHistory[]; tops: StreamTop[]; complete: Set<string> }> {
    const tops = await this.store.tops(names);
    const complete = new Set<string>();
    const toRead: { top: StreamTop; since: StreamPosition }[] = [];
    let missing = 0;
    for (const t of tops) {
      const since = asked.get(t.stream);
      if (!since) continue;
      if (since.offset === t.top && (since.offset === 0 || since.epoch === t.epoch)) {
        complete.add(t.stream); // nothing missed
      } else if ((since.offset === 0 || since.epoch === t.epoch) && since.offset < t.top) {
        missing += t.top - since.offset;
        toRead.push({ top: t, since });
      }
    }
    const reads: StreamHistory[] = [];
    if (missing > this.budget.maxReplayMessages) return { reads, tops, complete };
    let bytes = 0;
    for (const { top, since } of toRead) {
      // Up to the top read above: what is newer comes live (it is held until the replay ends).
      const h = await this.store.read(top.stream, since, top.top);
      if (!h.complete || h.epoch !== top.epoch) continue;
      for (const e of h.entries) bytes += Buffer.byteLength(e.text);
      if (bytes > this.budget.maxReplayBytes) return { reads, tops, complete: new Set() };
      reads.push(h);
      complete.add(h.stream);
    }
    await this.settle(reads, tops, complete);
    return { reads, tops, complete };
  }

  /**
   * Tops are read stream by stream, not in one atomic step: a message appended between two of
   * those reads (in streams A and B, A read before it, B after) is in B's entries with a
   * position in A past A's top. Replayed as it is, it would skip A's offsets in between. So A's
   * top is raised to it, and A read that far too (if A is recovered; otherwise A is simply
   * told where it is), until no replayed entry is past a top; those raised reads can bring
   * more such messages, a few rounds at most before the resume gives up (1013, try again).
   */
  private async settle(
    reads: StreamHistory[],
    tops: StreamTop[],
    complete: Set<string>,
  ): Promise<void> {
    const index = new Map(tops.map((t, i) => [t.stream, i]));
    for (let round = 0; ; round++) {
      const beyond = new Map<string, number>();
      for (const h of reads) {
        if (!complete.has(h.stream)) continue;
        for (const e of h.entries) {
          for (const stream in e.positions) {
            const i = index.get(stream);
            if (i === undefined) continue;
            const [offset, epoch] = e.positions[stream];
            if (epoch === tops[i].epoch && offset > Math.max(tops[i].top, beyond.get(stream) ?? 0))
              beyond.set(stream, offset);
          }
        }
      }
      if (beyond.size === 0) return;
      if (round === MAX_SETTLE_ROUNDS) throw new Error('streams kept moving while being read');
      for (const [stream, offset] of beyond) {
        const i = index.get(stream)!;
        const top = tops[i];
        let read = false;
        if (complete.has(stream)) {
          const h = await this.store.read(stream, { offset: top.top, epoch: top.epoch }, offset);
          if (h.complete && h.epoch === top.epoch) {
            const known = reads.find((r) => r.stream === stream);
            if (known) known.entries.push(...h.entries);
            else reads.push(h);
            read = true;
          }
        }
        if (!read) complete.delete(stream);
        tops[i] = { stream, epoch: top.epoch, top: offset };
      }
    }
  }
}

import type { StreamTop } from '../interfaces/recovery.interface.js';
import { continuity, type Positions } from '../protocol/streams.js';

/** What the monitor found wrong with a stream on this instance. */
export type StreamBreak = 'gap' | 'epoch' | 'rollback';

/**
 * Continuity of the streams as this instance receives them from the cluster: per stream, the
 * newest position seen here. Each message must follow it (offset + 1, same epoch): a higher
 * offset means this instance missed messages (its subscriber was away: a blip); another epoch
 * means the stream's history was lost (Redis restarted empty, keys evicted); an offset at or
 * below it in the same epoch means the stream was rolled back (a failover that lost the newest
 * writes) and an offset is being reused. In every case this instance's recovering clients in
 * that stream can no longer be sure of what they got: the strategy closes them (1012), and their
 * resume says what is true.
 */
export class StreamMonitor {
  private readonly seen = new Map<string, { epoch: string; offset: number }>();
  /** Breaks found, by kind (for the adapter's stats). */
  readonly breaks = { gap: 0, epoch: 0, rollback: 0 };

  /**
   * Checks a message's positions in the streams this instance hears; returns those whose
   * continuity broke, with why.
   */
  check(
    positions: Positions,
    hears: (stream: string) => boolean = () => true,
  ): [stream: string, why: StreamBreak][] | undefined {
    let broken: [string, StreamBreak][] | undefined;
    for (const stream in positions) {
      if (!hears(stream)) continue;
      const next = positions[stream];
      const mine = this.seen.get(stream);
      if (mine === undefined) {
        this.seen.set(stream, { epoch: next[1], offset: next[0] });
        continue;
      }
      const verdict = continuity(mine, next);
      if (verdict === 'next') {
        mine.epoch = next[1];
        mine.offset = next[0];
        continue;
      }
      const why: StreamBreak = verdict === 'duplicate' ? 'rollback' : verdict;
      this.breaks[why]++;
      (broken ??= []).push([stream, why]);
      // From here on the stream continues from this message (after a rollback, the stream is
      // given a new epoch before the next publish can reuse another offset).
      if (why !== 'rollback') {
        mine.epoch = next[1];
        mine.offset = next[0];
      }
    }
    return broken;
  }

  /**
   * A read of streams' tops (a resume, a join; or, with `startOnly` false, a check after the
   * subscriber came back, read before a barrier): a stream not watched yet starts there; one
   * watched is compared, a top ahead of what was seen meaning messages were missed here and
   * another epoch that its history was lost.
   */
  compare(tops: readonly StreamTop[], startOnly = false): [string, StreamBreak][] | undefined {
    let broken: [string, StreamBreak][] | undefined;
    for (const t of tops) {
      const mine = this.seen.get(t.stream);
      if (mine === undefined) {
        // A stream without history yet (no epoch) is watched too: its first message must be
        // offset 1 (a lost publish's tombstone may have taken it).
        this.seen.set(t.stream, { epoch: t.epoch, offset: t.top });
        continue;
      }
      if (startOnly) continue;
      // Read after a barrier: everything up to the tops has reached this instance, and what
      // arrived since may be ahead of them (not a problem).
      let why: StreamBreak | undefined;
      if (t.epoch !== mine.epoch && !(mine.offset === 0 && t.top === 0)) why = 'epoch';
      else if (t.top > mine.offset) why = 'gap';
      if (why === undefined) continue;
      this.breaks[why]++;
      (broken ??= []).push([t.stream, why]);
      mine.epoch = t.epoch;
      mine.offset = t.top;
    }
    return broken;
  }

  /** The newest position seen of a stream, or undefined. */
  position(stream: string): { epoch: string; offset: number } | undefined {
    return this.seen.get(stream);
  }

  /** Streams watched. */
  streams(): string[] {
    return [...this.seen.keys()];
  }

  /** Stops watching a stream (this instance has no recovering client in it). */
  forget(stream: string): void {
    this.seen.delete(stream);
  }

  /**
   * This instance stopped hearing a stream (it left its channel): what it saw of it is stale,
   * and the first message after it hears the stream again starts anew.
   */
  unsubscribed(stream: string): void {
    this.seen.delete(stream);
  }
}

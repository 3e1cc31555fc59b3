import type { Position, Positions } from '../protocol/streams.js';

/** Streams whose newest position an instance remembers at most (the oldest are forgotten). */
const MAX_FLOORS = 50_000;

/**
 * The newest position this instance knows of each stream, from its own publishes and from
 * every positioned message it receives, kept whether or not it still hears the stream. A
 * publish passes them to the script: a stream found behind its floor in the same epoch was
 * rolled back (a failover to a replica that lacked the newest writes), and gets a new epoch
 * instead of offsets that clients already had for other messages. Bounded: the streams least
 * recently seen are forgotten first.
 */
export class Floors {
  private readonly known = new Map<string, Position>();

  /** Positions seen (a publish's, a received message's). */
  saw(positions: Positions): void {
    for (const stream in positions) {
      const next = positions[stream];
      const mine = this.known.get(stream);
      if (mine !== undefined && mine[1] === next[1] && mine[0] >= next[0]) continue;
      this.known.delete(stream);
      this.known.set(stream, [next[0], next[1]]);
      if (this.known.size > MAX_FLOORS) {
        this.known.delete(this.known.keys().next().value as string);
      }
    }
  }

  /** The floors of `streams`, for a publish. */
  of(streams: readonly string[]): Positions | undefined {
    let out: Positions | undefined;
    for (const s of streams) {
      const f = this.known.get(s);
      if (f && f[0] > 0) (out ??= {})[s] = f;
    }
    return out;
  }

  get size(): number {
    return this.known.size;
  }
}

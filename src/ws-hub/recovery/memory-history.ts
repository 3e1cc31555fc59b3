import type { HistoryEntry, StreamHistory, StreamTop } from '../interfaces/recovery.interface.js';
import {
  positionedFrame,
  readFromTop,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';
import { newEpoch } from '../util/random.js';

interface Stream {
  /** Random per stream: a stream dropped and made again comes back under a new epoch. */
  epoch: string;
  top: number;
  /** Ring buffer of the newest entries, `size` at most. */
  entries: (HistoryEntry | undefined)[];
  /** Index in `entries` of the oldest kept entry. */
  head: number;
  count: number;
}

/**
 * Bounded in-memory history for a single instance: per stream a ring of at most `size`
 * entries, entries older than `ttlMs` ignored and freed by `sweep()`. Only streams that some
 * session could resume exist (`retain` / `release`, counted by the sessions that are in them):
 * a message to a stream nobody can resume is appended nowhere, so memory is bounded by the
 * sessions, not by what is published. A stream lives (epoch and newest offset kept, however
 * quiet) while it is retained; dropped and made again, it has a new epoch. A stream that does
 * not exist has the empty epoch and top 0: a client at offset 0 of it has missed nothing.
 */
export class MemoryHistory {
  private readonly streams = new Map<string, Stream>();
  /** Sessions in each stream; a stream exists while it has any. */
  private readonly interest = new Map<string, number>();
  /** Strictly increasing append time, so a replay can merge streams in publish order. */
  private lastAt = 0;

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
    private readonly nowMs: () => number,
  ) {}

  get streamCount(): number {
    return this.streams.size;
  }

  /** A session is in `stream`: it exists (history kept, epoch known) while any is. */
  retain(stream: string): void {
    this.interest.set(stream, (this.interest.get(stream) ?? 0) + 1);
    if (!this.streams.has(stream)) {
      this.streams.set(stream, { epoch: newEpoch(), top: 0, entries: [], head: 0, count: 0 });
    }
  }

  /** A session left `stream` (or ended); the last one drops it. */
  release(stream: string): void {
    const n = (this.interest.get(stream) ?? 0) - 1;
    if (n > 0) {
      this.interest.set(stream, n);
      return;
    }
    this.interest.delete(stream);
    this.streams.delete(stream);
  }

  /**
   * Appends one message to those of `streams` a session is in; returns the positioned frame,
   * or undefined when none is.
   */
  append(
    streams: readonly string[],
    plain: string,
    except?: readonly string[],
  ): { text: string; positions: Positions } | undefined {
    let positions: Positions | undefined;
    const found: Stream[] = [];
    for (const name of streams) {
      const s = this.streams.get(name);
      if (!s) continue; // no session is in it: nobody could resume it
      s.top++;
      (positions ??= {})[name] = [s.top, s.epoch];
      found.push(s);
    }
    if (positions === undefined) return undefined;
    const at = (this.lastAt = Math.max(this.nowMs(), this.lastAt + 0.001));
    const text = positionedFrame(plain, positions);
    const entry: HistoryEntry = except?.length
      ? { text, positions, at, except: [...except] }
      : { text, positions, at };
    for (const s of found) this.push(s, entry);
    return { text, positions };
  }

  top(stream: string): StreamTop {
    const s = this.streams.get(stream);
    return { stream, epoch: s?.epoch ?? '', top: s?.top ?? 0 };
  }

  read(stream: string, since: StreamPosition | undefined, until = Infinity): StreamHistory {
    const { epoch, top } = this.top(stream);
    const s = this.streams.get(stream);
    const none = (complete: boolean): StreamHistory => ({
      stream,
      epoch,
      top,
      entries: [],
      complete,
    });
    const known = readFromTop(epoch, top, since);
    if (known !== undefined) return none(known);
    if (!s || !since) return none(true);
    const end = Math.min(until, top);
    const oldestAt = this.nowMs() - this.ttlMs;
    const entries: HistoryEntry[] = [];
    for (let i = 0; i < s.count; i++) {
      const e = s.entries[(s.head + i) % this.size]!;
      const offset = e.positions[stream][0];
      if (offset > since.offset && offset <= end && e.at >= oldestAt) entries.push(e);
    }
    // Complete when nothing between the client's offset and the end is missing.
    const complete =
      entries.length === end - since.offset &&
      (entries.length === 0 || entries[0].positions[stream][0] === since.offset + 1);
    return { stream, epoch, top, entries, complete };
  }

  /** Frees the entries older than the TTL (the streams themselves live while retained). */
  sweep(): void {
    const oldestAt = this.nowMs() - this.ttlMs;
    for (const s of this.streams.values()) {
      while (s.count > 0 && s.entries[s.head]!.at < oldestAt) {
        s.entries[s.head] = undefined;
        s.head = (s.head + 1) % this.size;
        s.count--;
      }
      if (s.count === 0) s.entries = [];
    }
  }

  clear(): void {
    this.streams.clear();
    this.interest.clear();
  }

  private push(s: Stream, entry: HistoryEntry): void {
    if (s.entries.length === 0 && s.count === 0) s.head = 0;
    if (s.count < this.size) {
      s.entries[(s.head + s.count) % this.size] = entry;
      s.count++;
    } else {
      s.entries[s.head] = entry;
      s.head = (s.head + 1) % this.size;
    }
  }
}

import { randomBytes } from 'node:crypto';
import type { HistoryEntry, StreamHistory } from '../interfaces/recovery.interface.js';
import {
  positionedFrame,
  readFromTop,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';

interface Stream {
  /** Random per stream: a stream dropped when idle comes back under a new epoch. */
  epoch: string;
  top: number;
  /** Ring buffer of the newest entries, `size` at most. */
  entries: (HistoryEntry | undefined)[];
  /** Index in `entries` of the oldest kept entry. */
  head: number;
  count: number;
  lastAt: number;
}

/** How long the epoch and offset of an idle stream are kept (a day, like the Redis store's). */
export const STREAM_META_TTL_MS = 24 * 60 * 60 * 1000;

/** A new epoch: 8 random characters. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * Bounded in-memory history for a single instance: per stream a ring of at most `size`
 * entries, entries older than `ttlMs` ignored, and streams idle for `ttlMs` dropped by
 * `sweep()`. Each stream has its own epoch, so a stream that was dropped (or a restarted
 * process) can never be taken for the one a client knew. A stream that does not exist has the
 * empty epoch and top 0: a client at offset 0 of it has missed nothing.
 */
export class MemoryHistory {
  private readonly streams = new Map<string, Stream>();
  /** Strictly increasing append time, so a replay can merge streams in publish order. */
  private lastAt = 0;

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get streamCount(): number {
    return this.streams.size;
  }

  /** Appends one message to every stream in `streams`; returns the positioned frame. */
  append(
    streams: string[],
    plain: string,
    except?: string[],
  ): { text: string; positions: Positions } {
    const positions: Positions = {};
    const at = (this.lastAt = Math.max(this.nowMs(), this.lastAt + 0.001));
    const found: Stream[] = [];
    for (const name of streams) {
      let s = this.streams.get(name);
      if (!s) {
        s = { epoch: newEpoch(), top: 0, entries: [], head: 0, count: 0, lastAt: at };
        this.streams.set(name, s);
      }
      s.top++;
      positions[name] = [s.top, s.epoch];
      found.push(s);
    }
    const text = positionedFrame(plain, positions);
    const entry: HistoryEntry = except?.length
      ? { text, positions, at, except }
      : { text, positions, at };
    for (const s of found) this.push(s, entry, at);
    return { text, positions };
  }

  read(stream: string, since: StreamPosition | undefined): StreamHistory {
    const s = this.streams.get(stream);
    const top = s?.top ?? 0;
    const epoch = s?.epoch ?? '';
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
    const oldestAt = this.nowMs() - this.ttlMs;
    const entries: HistoryEntry[] = [];
    for (let i = 0; i < s.count; i++) {
      const e = s.entries[(s.head + i) % this.size]!;
      if (e.positions[stream][0] > since.offset && e.at >= oldestAt) entries.push(e);
    }
    // Complete when nothing between the client's offset and the top is missing.
    const complete =
      entries.length === top - since.offset &&
      (entries.length === 0 || entries[0].positions[stream][0] === since.offset + 1);
    return { stream, epoch, top, entries, complete };
  }

  /**
   * Frees the entries of streams idle for longer than the TTL (they have all expired) but keeps
   * their epoch and newest offset for a day, as the Redis store does, so that a client of a
   * quiet room that missed nothing still recovers; streams idle for a day are dropped.
   */
  sweep(): void {
    const now = this.nowMs();
    for (const [name, s] of this.streams) {
      if (s.lastAt < now - STREAM_META_TTL_MS) this.streams.delete(name);
      else if (s.count > 0 && s.lastAt < now - this.ttlMs) {
        s.entries = [];
        s.head = 0;
        s.count = 0;
      }
    }
  }

  clear(): void {
    this.streams.clear();
  }

  private push(s: Stream, entry: HistoryEntry, at: number): void {
    s.lastAt = at;
    if (s.count < this.size) {
      s.entries[(s.head + s.count) % this.size] = entry;
      s.count++;
    } else {
      s.entries[s.head] = entry;
      s.head = (s.head + 1) % this.size;
    }
  }
}

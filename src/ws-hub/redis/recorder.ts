import type { HubAdapterMessage, Recorded } from '../interfaces/cluster-adapter.interface.js';
import type { Position, Positions } from '../protocol/streams.js';
import {
  appendArgs,
  mergePositions,
  positionedText,
  type EpochSource,
  type StreamKeys,
  type StreamLimits,
} from './stream-keys.js';
import { REORDER_WINDOW } from './sequence-filter.js';
import { APPEND_PUBLISH, MARK_GAP } from './stream-scripts.js';

/** A message with a frame, as recorded on streams. */
export type RecordedMessage = Extract<HubAdapterMessage, { frame: string }>;

/** The side of the publisher connection the recorder uses. */
export interface RecorderConnection {
  readonly status: string;
  eval(script: string, numKeys: number | string, ...args: string[]): Promise<unknown>;
}

export interface RecorderDeps {
  conn(): RecorderConnection | undefined;
  /**
   * Which connection of the subscriber is up with every channel subscribed (a number that
   * changes at each reconnect), or -1 while it is down or still resubscribing.
   */
  subscriberGeneration(): number;
  keys: StreamKeys;
  epochs: EpochSource;
  limits: StreamLimits;
  /** How long a publish may wait for Redis before the message is delivered here without it. */
  timeoutMs: number;
  /** Hands a message to this instance's clients (`host.applyRemote`, guarded). */
  apply(message: HubAdapterMessage): void;
  /** A publish failed or timed out (`what` names it for the outage log). */
  onFailed(what: string, err: unknown): void;
  /**
   * Cluster mode: one script per stream (each its own slot group, sent concurrently), each
   * appending and publishing its copy with SPUBLISH, so that every channel carries its stream in
   * offset order. The copies of a message on several streams share the id `<idPrefix><seq>`
   * (`mid` in their frames, `i` in their entries), each with its own stream's position only, and
   * come back in any order relative to each other.
   */
  cluster?: { idPrefix: string };
}

interface Pending {
  message: RecordedMessage;
  streams: string[];
  sentAtMs: number;
  /** The subscriber's generation when sent, -1 when it was not ready. */
  generation: number;
  /** Its copy came back through pub/sub already. */
  received: boolean;
}

/** Counters of the recorder (part of the adapter's stats). */
export interface RecorderStats {
  /** Messages appended to their streams' history and published. */
  historyWrites: number;
  /** Messages whose history write failed or timed out (a tombstone follows). */
  historyFailures: number;
  /** Streams waiting for a tombstone (Redis unreachable since they lost a message). */
  gapsPending: number;
  /** Tombstones written. */
  gapsMarked: number;
}

/**
 * The publishing side of recovery on Redis. Each recorded message is one `APPEND_PUBLISH`
 * (offsets, history, publish in one round trip); its copy comes back through pub/sub to every
 * instance, this one included, positioned. When the script fails, or Redis does not answer
 * within `timeoutMs`, the message's streams are remembered; once Redis answers again, each
 * gets a tombstone (`MARK_GAP`), so a resume across the lost message says `recovered: false`
 * (and live recovering clients see the tombstone's offset missing: a gap, so they resume).
 */
export class Recorder {
  private readonly pending = new Map<number, Pending>();
  /** Own messages already handed to the clients here: their pub/sub copies are dropped. */
  private readonly appliedHere = new Set<number>();
  /** Streams that lost a message, with a version bumped at each loss. */
  private readonly lost = new Map<string, number>();
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  readonly counters = { historyWrites: 0, historyFailures: 0, gapsMarked: 0 };
  /** The newest position this instance knows of each stream (a publish checks it). */
  readonly floors = new Floors();

  constructor(private readonly deps: RecorderDeps) {}

  /** Starts the timeout sweep. */
  start(): void {
    this.timer ??= setInterval(() => this.sweep(), Math.max(20, this.deps.timeoutMs / 4));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.appliedHere.clear();
  }

  stats(): RecorderStats {
    return { ...this.counters, gapsPending: this.lost.size };
  }

  /** Appends `message` (own sequence number `seq`, wire header `header`) and publishes it. */
  record(seq: number, header: string, message: RecordedMessage, streams: string[]): void {
    const d = this.deps;
    const conn = d.conn();
    if (!conn || conn.status !== 'ready') {
      this.lose(message, streams);
      d.onFailed('publish', 'not connected');
      return;
    }
    const except = message.type === 'broadcast' ? message.except : undefined;
    const groups = d.cluster ? streams.map((s) => [s]) : [streams];
    const cluster = d.cluster && { id: groups.length > 1 ? d.cluster.idPrefix + seq : '' };
    this.pending.set(seq, {
      message,
      streams,
      sentAtMs: Date.now(),
      generation: d.subscriberGeneration(),
      received: false,
    });
    try {
      const evals = groups.map((group) =>
        conn.eval(
          APPEND_PUBLISH,
          ...(appendArgs(
            d.keys,
            d.epochs,
            d.limits,
            header,
            message.frame,
            group,
            except,
            cluster,
            this.floors.of(group),
          ) as [string]),
        ),
      );
      const all = evals.length === 1 ? evals[0] : Promise.all(evals).then(mergePositions);
      all.then(
        (pos) => this.written(seq, pos),
        (err: unknown) => this.failed(seq, err),
      );
    } catch (err) {
      this.failed(seq, err);
    }
  }

  /**
   * An own positioned message came back through pub/sub: false when it was handed to the
   * clients here already (timed out, or the subscriber was away). Copies arrive in sequence
   * order, so older entries are forgotten as newer numbers come.
   */
  acceptOwn(seq: number): boolean {
    const p = this.pending.get(seq);
    if (p) p.received = true;
    const here = this.appliedHere;
    if (here.size === 0) return true;
    // In cluster mode copies come from several shards, in any order: keep a window.
    const below = this.deps.cluster ? seq - REORDER_WINDOW : seq;
    for (const s of here) if (s < below) here.delete(s);
    return !here.has(seq);
  }

  /** Writes the tombstones of streams that lost messages, if Redis is there. */
  flushGaps(): void {
    const conn = this.deps.conn();
    if (this.flushing || this.lost.size === 0 || conn?.status !== 'ready') return;
    this.flushing = true;
    const { keys, epochs, limits } = this.deps;
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
            this.counters.gapsMarked++;
          },
          () => undefined,
        ),
    );
    void Promise.all(marks).finally(() => {
      this.flushing = false;
    });
  }

  private written(seq: number, posJson: unknown): void {
    const p = this.pending.get(seq);
    if (!p) return; // timed out: delivered here already, the copy will be dropped
    this.pending.delete(seq);
    this.counters.historyWrites++;
    const d = this.deps;
    try {
      this.floors.saw(JSON.parse(String(posJson)) as Positions);
    } catch {
      // an unreadable reply: no floor learned
    }
    const away = p.generation < 0 || d.subscriberGeneration() !== p.generation;
    if (!p.received && away) {
      // The subscriber was away (or resubscribing) around the publish: its copy may never
      // come, so the clients here get it now, and a late copy is dropped.
      const pos = String(posJson);
      const positioned = {
        text: positionedText(p.message.frame, pos),
        positions: JSON.parse(pos) as Positions,
      };
      this.appliedHere.add(seq);
      d.apply({ ...p.message, positioned, own: true } as RecordedMessage & Recorded);
    }
    if (this.lost.size > 0) this.flushGaps();
  }

  private failed(seq: number, err: unknown): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    // It may have run all the same (the connection dropped after sending it): its copy, if it
    // comes, is delivered (positioned) like any other; the tombstone marks the doubt.
    this.lose(p.message, p.streams);
    this.deps.onFailed('publish', err);
  }

  /** Publishes that waited longer than `timeoutMs` are delivered here without Redis. */
  private sweep(): void {
    if (this.pending.size === 0) return;
    const oldest = Date.now() - this.deps.timeoutMs;
    let late = 0;
    for (const [seq, p] of this.pending) {
      if (p.sentAtMs > oldest) break;
      this.pending.delete(seq);
      this.lose(p.message, p.streams);
      late++;
    }
    if (late > 0) this.deps.onFailed('publish', `no answer within ${this.deps.timeoutMs} ms`);
  }

  /**
   * A message whose history write failed (or may have): its streams are remembered, so that
   * each gets a tombstone once Redis answers, and a resume across it says `recovered: false`.
   * Recovering clients here get nothing now (plain ones had it at publish): a frame without a
   * position could arrive twice (the script may have run: its copy then comes through pub/sub)
   * and would leave them unable to tell.
   */
  private lose(_message: RecordedMessage, streams: string[]): void {
    this.counters.historyFailures++;
    for (const s of streams) this.lost.set(s, (this.lost.get(s) ?? 0) + 1);
  }
}

/** Streams whose newest position an instance remembers at most (the oldest are forgotten). */
export const MAX_FLOORS = 50_000;

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

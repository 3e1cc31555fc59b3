import type {
  HubAdapterHistoryStats,
  HubAdapterMessage,
  Recorded,
} from '../interfaces/cluster-adapter.interface.js';
import type { Positions } from '../protocol/streams.js';
import { positionedText } from '../cluster/codec.js';
import { Floors } from '../cluster/floors.js';
import {
  appendArgs,
  mergePositions,
  type EpochSource,
  type StreamKeys,
  type StreamLimits,
} from './stream-keys.js';
import { OwnDeliveries } from '../cluster/own-deliveries.js';
import { PendingPublishes } from '../cluster/pending-publishes.js';
import { GapMarks } from './gap-marks.js';
import { APPEND_PUBLISH } from './stream-scripts.js';

/** A message with a frame, as recorded on streams. */
export type RecordedMessage = Extract<HubAdapterMessage, { frame: string }>;

/** The side of the publisher connection the recorder uses. */
export interface RecorderConnection {
  readonly status: string;
  eval(script: string, numKeys: number | string, ...args: string[]): Promise<unknown>;
}

interface RecorderDeps {
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
   * Redis Cluster: one script per stream (each its own slot group, sent concurrently), each
   * appending and publishing its copy with SPUBLISH, so that every channel carries its stream in
   * offset order. The copies of a message on several streams share the id `<idPrefix><seq>`
   * (`mid` in their frames, `i` in their entries), each with its own stream's position only, and
   * come back in any order relative to each other.
   */
  redisCluster?: { idPrefix: string };
}

/**
 * The publishing side of recovery on Redis. Each recorded message is one `APPEND_PUBLISH`
 * (offsets, history, publish in one round trip); its copy comes back through pub/sub to every
 * instance, this one included, positioned. When the script fails, or Redis does not answer
 * within `timeoutMs`, the message's streams get a tombstone once Redis answers again
 * (`GapMarks`). Its parts: the publishes waiting for an answer (`PendingPublishes`), the own
 * messages handed over here without pub/sub (`OwnDeliveries`), the tombstones (`GapMarks`) and
 * the newest positions known (`Floors`, for the rollback check).
 */
export class Recorder {
  private readonly pending: PendingPublishes<RecordedMessage>;
  /** Own messages already handed to the clients here: their pub/sub copies are dropped. */
  private readonly appliedHere: OwnDeliveries;
  private readonly gaps: GapMarks;
  private historyWrites = 0;
  private historyFailures = 0;
  /** The newest position this instance knows of each stream (a publish checks it). */
  readonly floors = new Floors();

  constructor(private readonly deps: RecorderDeps) {
    this.pending = new PendingPublishes(deps.timeoutMs, (late) => {
      for (const p of late) this.lose(p.streams);
      this.deps.onFailed('publish', `no answer within ${this.deps.timeoutMs} ms`);
    });
    this.appliedHere = new OwnDeliveries(deps.redisCluster !== undefined);
    this.gaps = new GapMarks(deps.conn, deps.keys, deps.epochs, deps.limits);
  }

  /** Starts the timeout sweep. */
  start(): void {
    this.pending.start();
  }

  stop(): void {
    this.pending.stop();
    this.appliedHere.clear();
  }

  /** The history section of the adapter's stats. */
  stats(): HubAdapterHistoryStats {
    return {
      historyWrites: this.historyWrites,
      historyFailures: this.historyFailures,
      gapsMarked: this.gaps.marked,
      gapsPending: this.gaps.pending,
    };
  }

  /** Appends `message` (own sequence number `seq`, wire header `header`) and publishes it. */
  record(seq: number, header: string, message: RecordedMessage, streams: string[]): void {
    const d = this.deps;
    const conn = d.conn();
    if (!conn || conn.status !== 'ready') {
      this.lose(streams);
      d.onFailed('publish', 'not connected');
      return;
    }
    const except = message.type === 'broadcast' ? message.except : undefined;
    const groups = d.redisCluster ? streams.map((s) => [s]) : [streams];
    const copies = d.redisCluster && { id: groups.length > 1 ? d.redisCluster.idPrefix + seq : '' };
    this.pending.add(seq, {
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
            copies,
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
   * clients here already (timed out, or the subscriber was away).
   */
  acceptOwn(seq: number): boolean {
    const p = this.pending.get(seq);
    if (p) p.received = true;
    return this.appliedHere.accept(seq);
  }

  /** Writes the tombstones of streams that lost messages, if Redis is there. */
  flushGaps(): void {
    this.gaps.flush();
  }

  private written(seq: number, posJson: unknown): void {
    const p = this.pending.take(seq);
    if (!p) return; // timed out: delivered here already, the copy will be dropped
    this.historyWrites++;
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
    if (this.gaps.pending > 0) this.gaps.flush();
  }

  private failed(seq: number, err: unknown): void {
    const p = this.pending.take(seq);
    if (!p) return;
    // It may have run all the same (the connection dropped after sending it): its copy, if it
    // comes, is delivered (positioned) like any other; the tombstone marks the doubt.
    this.lose(p.streams);
    this.deps.onFailed('publish', err);
  }

  /**
   * A message whose history write failed (or may have): its streams get a tombstone once Redis
   * answers, and a resume across it says `recovered: false`. Recovering clients here get
   * nothing now (plain ones had it at publish): a frame without a position could arrive twice
   * (the script may have run: its copy then comes through pub/sub) and would leave them unable
   * to tell.
   */
  private lose(streams: string[]): void {
    this.historyFailures++;
    this.gaps.add(streams);
  }
}

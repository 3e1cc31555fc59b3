import type { FrameMessage } from '../core/delivery-strategy.js';
import type { LocalMessage } from '../core/delivery.js';
import { OutgoingFrame } from '../core/frame-writer.js';
import type { Connection } from '../core/connection.js';
import type { RecoveryStore, StreamTop } from '../interfaces/recovery.interface.js';
import { hubLogger } from '../util/logger.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import {
  ALL_STREAM,
  CLIENT_PREFIX,
  clientStream,
  roomOfStream,
  roomStream,
  USER_PREFIX,
  userStream,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';
import { ClientStreams } from './client-streams.js';
import { CopyLedger } from './copy-ledger.js';
import { PositionedMessage, isIn } from './positioned-message.js';
import { RecoveringDelivery, type RecoveryDeps } from './recovering-delivery.js';
import { StreamMonitor, type StreamBreak } from './stream-monitor.js';

/**
 * Recovery on a cluster: the adapter appends each message to its streams and publishes it in
 * one step (Redis: one script), then hands it back to every instance, this one included, with
 * its positions, in the order the store assigned. Plain clients here get a message at once;
 * recovering ones through the adapter, so that every instance's recovering clients see each
 * stream in one order. The `StreamMonitor` checks that order as it arrives: what this instance
 * missed (a subscriber blip), lost histories and reused offsets close the recovering clients of
 * the stream with 1012, and their resume tells them what is true.
 *
 * Redis Cluster appends a multi-room broadcast once per room (each room its own slot, its own
 * channel, in its own order): every copy carries its room's position and reaches the recovering
 * clients of that room; the first they get is the message, the others `skip` frames.
 */
export class RecordedDelivery extends RecoveringDelivery {
  readonly idsMove = true;
  readonly distributed = true;
  /** Who got the messages that arrive as several copies (Redis Cluster). */
  private readonly copies = new CopyLedger();
  constructor(
    deps: RecoveryDeps,
    /** The continuity monitor, also told by the cluster link when a stream's channel is left. */
    readonly monitor: StreamMonitor,
    private readonly renewal: Required<Pick<RecoveryStore, 'renewEpoch'>> | undefined,
  ) {
    super(deps);
  }

  broadcast(frame: OutgoingFrame, rooms: string[] | undefined, except: string[] | undefined) {
    const streams = rooms ? [...new Set(rooms)].map(roomStream) : [ALL_STREAM];
    const n = this.deps.delivery.broadcast(this.plain(frame), rooms, except);
    this.deps.link.publish({
      type: 'broadcast',
      frame: frame.text,
      rooms,
      except,
      streams,
    });
    return n;
  }

  send(clientId: string, frame: OutgoingFrame): boolean {
    const client = this.deps.registry.get(clientId);
    if (client) this.deps.delivery.message(client, this.plain(frame));
    else if (!this.deps.link.isRemoteClientId(clientId)) return false;
    const streams = [clientStream(clientId)];
    this.deps.link.publish({
      type: 'send',
      clientId,
      frame: frame.text,
      streams,
    });
    return true;
  }

  toUser(userId: string, frame: OutgoingFrame): number {
    const n = this.deps.delivery.toUser(userId, this.plain(frame));
    const streams = [userStream(userId)];
    this.deps.link.publish({
      type: 'user',
      userId,
      frame: frame.text,
      streams,
    });
    return n;
  }

  applyRemote(message: FrameMessage): void {
    const plain = message.own || message.again ? undefined : new OutgoingFrame(message.frame);
    const p = message.positioned;
    let forReceivers: PositionedMessage | undefined;
    if (p !== undefined) {
      const broken = this.monitor.check(p.positions, this.hears);
      if (broken) for (const [stream, why] of broken) this.broken(stream, why, p.positions);
      forReceivers = new PositionedMessage(
        message.frame,
        p.positions,
        p.text,
        message.type === 'broadcast' ? message.except : undefined,
        p.mid === undefined ? undefined : this.copies.of(p.mid),
      );
    }
    const local: LocalMessage = { plain, forReceivers };
    switch (message.type) {
      case 'broadcast':
        this.deps.delivery.broadcast(local, message.rooms, message.except);
        break;
      case 'send': {
        const client = this.deps.registry.get(message.clientId);
        if (client) this.deps.delivery.message(client, local);
        break;
      }
      case 'user':
        this.deps.delivery.toUser(message.userId, local);
        break;
    }
  }

  barrier(): Promise<void> | undefined {
    return this.deps.link.settled();
  }

  override replayedCopies(client: Connection, ids: ReadonlySet<string>): void {
    for (const id of ids) this.copies.of(id).set(client.id, null);
  }

  /**
   * Same instance only: a resume elsewhere relies on the client's `mid` check. A copy written
   * to the client counts only if the position the client presents covers it: one written to a
   * connection that was already dead never reached it.
   */
  override gotCopy(
    client: Connection,
    id: string,
    asked: ReadonlyMap<string, StreamPosition>,
  ): boolean {
    const got = this.copies.get(id, client.id);
    if (!got) return false;
    for (const stream in got) {
      const mine = asked.get(stream);
      const [offset, epoch] = got[stream];
      if (mine !== undefined && mine.epoch === epoch && offset <= mine.offset) return true;
    }
    return false;
  }

  observed(tops: readonly StreamTop[]): void {
    this.monitor.compare(tops, true);
  }

  /**
   * The adapter's subscriber came back: messages published meanwhile may never have reached
   * this instance. The watched streams' tops (read, then a barrier) tell which.
   */
  resubscribed(): void {
    void this.checkAfterBreak();
  }

  private async checkAfterBreak(): Promise<void> {
    const streams = this.monitor.streams().filter((s) => {
      if (this.recoveringIn(s).length > 0) return true;
      this.monitor.forget(s);
      return false;
    });
    if (streams.length === 0) return;
    try {
      const tops = await this.deps.store.tops(streams);
      await this.barrier();
      const broken = this.monitor.compare(tops);
      if (broken) for (const [stream, why] of broken) this.broken(stream, why);
    } catch {
      // The store is away again: the next resubscription checks again.
    }
  }

  protected override touch(): void {
    super.touch();
    for (const s of this.monitor.streams()) {
      if (this.recoveringIn(s).length === 0) this.monitor.forget(s);
    }
  }

  /**
   * Continuity of `stream` broke on this instance: its recovering clients here are closed with
   * 1012 so that they resume (a resume reads the history, and says whether it was complete).
   * A reused offset (a rollback) also gets the stream a new epoch.
   */
  private broken(stream: string, why: StreamBreak, positions?: Positions): void {
    const clients = this.recoveringIn(stream);
    if (clients.length > 0 || why === 'rollback') {
      hubLogger.warn(
        `stream ${why === 'gap' ? 'missed messages' : why === 'epoch' ? 'lost its history' : 'was rolled back'} on this instance; ` +
          `${clients.length} recovering client(s) in it resume`,
      );
    }
    for (const client of clients) {
      this.deps.closer.close(
        client,
        CloseCode.SERVICE_RESTART,
        'resume required',
        DisconnectReason.CONTINUITY_LOST,
      );
    }
    if (why === 'rollback' && positions && this.renewal) {
      const [offset, epoch] = positions[stream];
      const seen = this.monitor.position(stream);
      void this.renewal.renewEpoch(stream, epoch, Math.max(offset, seen?.offset ?? 0));
    }
  }

  /**
   * Whether this instance hears a stream (is subscribed to its channel, confirmed): a
   * multi-room message names rooms it may not be in, whose other messages never come here, and
   * one it is subscribing to may have had messages that came before the subscription did.
   */
  private readonly hears = (stream: string): boolean => {
    if (this.deps.link.ready(stream) !== undefined) return false;
    const room = roomOfStream(stream);
    if (room !== undefined) return this.deps.rooms.members(room) !== undefined;
    if (stream === ALL_STREAM) return true;
    if (stream.startsWith(USER_PREFIX))
      return this.deps.registry.ofUser(stream.slice(USER_PREFIX.length)) !== undefined;
    return this.deps.registry.has(stream.slice(CLIENT_PREFIX.length));
  };

  /** This instance's recovering clients in a stream. */
  private recoveringIn(stream: string): Connection[] {
    const out: Connection[] = [];
    const room = roomOfStream(stream);
    const { rooms, registry } = this.deps;
    let candidates: Iterable<Connection> = [];
    if (room !== undefined) candidates = rooms.members(room) ?? [];
    else if (stream === ALL_STREAM) candidates = registry.list;
    else if (stream.startsWith(USER_PREFIX))
      candidates = registry.ofUser(stream.slice(USER_PREFIX.length)) ?? [];
    else if (stream.startsWith(CLIENT_PREFIX)) {
      const client = registry.get(stream.slice(CLIENT_PREFIX.length));
      if (client) candidates = [client];
    }
    for (const client of candidates) {
      if (client.receiver instanceof ClientStreams && isIn(client, stream)) out.push(client);
    }
    return out;
  }

  private plain(frame: OutgoingFrame): LocalMessage {
    return { plain: frame, forReceivers: undefined };
  }
}

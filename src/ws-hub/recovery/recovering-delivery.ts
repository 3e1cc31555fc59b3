import type { ClusterLink } from '../cluster/cluster-link.js';
import type { ClientRegistry } from '../core/client-registry.js';
import type { Closer } from '../core/closer.js';
import type { Delivery } from '../core/delivery.js';
import type { DeliveryStrategy, FrameMessage } from '../core/delivery-strategy.js';
import type { HubDirectHandler } from '../core/route-table.js';
import type { OutgoingFrame } from '../core/frame-writer.js';
import type { ConnectionInfo, Connection } from '../core/connection.js';
import type { HubCounters } from '../core/hub-counters.js';
import type { Rooms } from '../core/rooms.js';
import type { Welcomer } from '../core/welcomer.js';
import type { RecoveryStore, StreamTop } from '../interfaces/recovery.interface.js';
import { sessionTouchIntervalMs } from '../options/defaults.js';
import type { ResolvedRecoveryOptions } from '../options/feature-options.js';
import {
  ClientEvent,
  CloseCode,
  DisconnectReason,
  ErrorCode,
  RECOVERY_SUBPROTOCOL,
  ServerEvent,
} from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import { HubError } from '../protocol/hub.error.js';
import { roomStream, type Position } from '../protocol/streams.js';
import { ClientStreams, type ClientStreamsOwner } from './client-streams.js';
import type { PositionedMessage } from './positioned-message.js';
import { Resumer, streamsOf, type ResumeHost } from './resumer.js';

/** How long a connection that negotiated recovery may take to send its `recover` frame. */
const RECOVER_TIMEOUT_MS = 10_000;

/** What both recovering strategies are built with. */
export interface RecoveryDeps {
  options: ResolvedRecoveryOptions;
  maxRoomsPerClient: number;
  store: RecoveryStore;
  counters: HubCounters;
  registry: ClientRegistry;
  rooms: Rooms;
  delivery: Delivery;
  closer: Closer;
  welcomer: Welcomer;
  link: ClusterLink;
}

/**
 * Message recovery, the parts both of its delivery strategies share: clients that negotiate
 * `ws-hub.recovery` get a `ClientStreams` receiver and a resumable session (the `recover`
 * route), sessions record their rooms and stay alive while connected, and positioned frames go
 * out whole or not at all (a client too slow for them is closed with 1013, never skipped). The
 * subclasses decide where positions come from: this instance's memory, or the cluster adapter.
 */
export abstract class RecoveringDelivery
  implements DeliveryStrategy, ClientStreamsOwner, ResumeHost
{
  readonly routes: ReadonlyMap<string, HubDirectHandler>;
  abstract readonly idsMove: boolean;
  abstract readonly distributed: boolean;
  protected readonly resumer: Resumer;
  private touchTimer: NodeJS.Timeout | undefined;

  constructor(protected readonly deps: RecoveryDeps) {
    this.resumer = new Resumer(
      deps.options,
      deps.maxRoomsPerClient,
      deps.store,
      deps.registry,
      deps.rooms,
      deps.delivery,
      deps.closer,
      deps.welcomer,
      deps.link,
      this,
    );
    this.routes = new Map<string, HubDirectHandler>([
      [
        ClientEvent.RECOVER,
        (client, data, _event, id) => {
          const streams = client.receiver;
          if (!(streams instanceof ClientStreams)) {
            throw new HubError(
              ErrorCode.BAD_ENVELOPE,
              `"recover" needs the ${RECOVERY_SUBPROTOCOL} subprotocol`,
            );
          }
          return this.resumer.recover(client, streams, data, id);
        },
      ],
    ]);
  }

  abstract broadcast(
    frame: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number;
  abstract send(clientId: string, frame: OutgoingFrame): boolean;
  abstract toUser(userId: string, frame: OutgoingFrame): number;
  abstract applyRemote(message: FrameMessage): void;
  abstract barrier(): Promise<void> | undefined;
  abstract observed(tops: readonly StreamTop[]): void;

  /** Only a cluster appends messages as several copies. */
  replayedCopies(_client: Connection, _ids: ReadonlySet<string>): void {}

  gotCopy(_client: Connection, _id: string, _asked: ReadonlyMap<string, unknown>): boolean {
    return false;
  }

  /** A client that negotiated recovery waits for its `recover` frame; others are plain. */
  admit(client: Connection, info: ConnectionInfo): boolean {
    if (info.protocol !== RECOVERY_SUBPROTOCOL) return true;
    const streams = new ClientStreams(this);
    client.receiver = streams;
    streams.timer = setTimeout(() => {
      if (streams.awaiting) {
        this.deps.closer.close(
          client,
          CloseCode.POLICY_VIOLATION,
          'recover frame expected',
          DisconnectReason.RECOVER_TIMEOUT,
        );
      }
    }, RECOVER_TIMEOUT_MS);
    streams.timer.unref();
    this.added(client);
    return false;
  }

  /** A recovering client registered (before its `recover`). */
  protected added(_client: Connection): void {}

  async joinedPosition(client: Connection, room: string): Promise<Position | undefined> {
    if (!(client.receiver instanceof ClientStreams)) return undefined;
    const [top] = await this.deps.store.tops([roomStream(room)]);
    this.observed([top]);
    // The session records where the client started: a resume never reads the room from before.
    if (client.receiver.hasSession)
      await this.deps.store.addRoom(client.id, room, true, { offset: top.top, epoch: top.epoch });
    return [top.top, top.epoch];
  }

  write(client: Connection, message: PositionedMessage): boolean {
    const frame = message.frameFor(client);
    return frame === undefined || this.deps.delivery.strictFrame(client, frame);
  }

  overflow(client: Connection): void {
    this.deps.counters.slowClosed++;
    this.deps.closer.close(
      client,
      CloseCode.TRY_AGAIN_LATER,
      'too much to hold while resuming',
      DisconnectReason.SLOW_CONSUMER,
    );
  }

  discontinued(client: Connection): void {
    this.deps.closer.close(
      client,
      CloseCode.SERVICE_RESTART,
      'resume required',
      DisconnectReason.CONTINUITY_LOST,
    );
  }

  tooEarly(client: Connection): void {
    this.deps.closer.close(
      client,
      CloseCode.POLICY_VIOLATION,
      'too many frames before the welcome',
      DisconnectReason.INVALID_FRAMES,
    );
  }

  recordRoom(client: Connection, room: string, byClient: boolean): Promise<void> {
    return this.deps.store.addRoom(client.id, room, byClient);
  }

  forgetRoom(client: Connection, room: string): void {
    this.deps.store.removeRoom(client.id, room);
  }

  /**
   * `{"event":"joined","data":{"room","pos"}}` without an id: the room's position once every
   * message appended before it has reached this instance (and the client, as frames of a
   * stream it did not know yet); later ones continue it. If that cannot be read, the client
   * resumes (1012) and learns its rooms from the welcome.
   */
  async announceJoin(client: Connection, room: string): Promise<void> {
    try {
      await this.deps.link.ready(roomStream(room));
      const [top] = await this.deps.store.tops([roomStream(room)]);
      await this.barrier();
      if (client.removed || !client.rooms?.has(room)) return;
      this.observed([top]);
      await this.deps.store.addRoom(client.id, room, false, { offset: top.top, epoch: top.epoch });
      if (client.removed || !client.rooms?.has(room)) return;
      this.deps.delivery.text(
        client,
        encodeFrame(ServerEvent.JOINED, { room, pos: [top.top, top.epoch] }),
      );
    } catch {
      if (!client.removed) this.discontinued(client);
    }
  }

  announceLeave(client: Connection, room: string): void {
    this.deps.delivery.text(client, encodeFrame(ServerEvent.LEFT, { room }));
  }

  removed(client: Connection, streams: ClientStreams): void {
    if (!streams.hasSession) return;
    // Revoked (`revokeUser`, `revoke`): the session ends with the connection.
    if (client.closeReason === DisconnectReason.REVOKED) {
      void this.deps.store.deleteSession(client.id);
      return;
    }
    this.deps.store.release(client.id, client.connectionId);
    // Its streams' epochs and offsets must outlive its session (it may resume).
    this.deps.store.touch([], streamsOf(client));
  }

  start(): void {
    // Sessions of connected clients (and the streams they are in) must outlive a crash of this
    // instance by sessionTtlMs only.
    this.touchTimer = setInterval(
      () => this.touch(),
      sessionTouchIntervalMs(this.deps.options.sessionTtlMs),
    );
    this.touchTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.touchTimer);
    await this.deps.store.close();
  }

  /** Keeps the sessions of this instance's recovering clients, and their streams, alive. */
  protected touch(): void {
    const ids: string[] = [];
    const streams = new Set<string>();
    for (const client of this.deps.registry.list) {
      const receiver = client.receiver;
      if (!(receiver instanceof ClientStreams) || !receiver.hasSession) continue;
      ids.push(client.id);
      for (const s of streamsOf(client)) streams.add(s);
    }
    if (ids.length) this.deps.store.touch(ids, [...streams]);
  }
}

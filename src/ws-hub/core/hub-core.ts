import type { Observable } from 'rxjs';
import type { ClusterLink } from '../cluster/cluster-link.js';
import type { HubConnectedEvent } from '../interfaces/events.interface.js';
import type { HubAdapterStats } from '../interfaces/cluster-adapter.interface.js';
import type { HubAuthenticateFn, HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { ClientEvent, CloseCode, ErrorCode, ServerEvent } from '../protocol/constants.js';
import { HubError } from '../protocol/hub.error.js';
import type { Position } from '../protocol/streams.js';
import type { AdapterHost } from './adapter-host.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import { DRAIN_CLOSE, type Drainer, type DrainResult } from './drainer.js';
import type { Delivery } from './delivery.js';
import type { DeliveryStrategy } from './delivery-strategy.js';
import type { HubFrameDispatcher } from './frame-dispatcher.js';
import type { HubFrameHandler, RouteTable } from './route-table.js';
import type { HeartbeatScheduler } from './heartbeat.js';
import { kConnection, type ConnectionInfo, type Connection, type HubSocket } from './connection.js';
import type { HubCounters } from './hub-counters.js';
import type { HubEvents } from './hub-events.js';
import type { Registrar } from './registrar.js';
import type { Rooms } from './rooms.js';
import type { TokenExpiry, TokenExpiryData } from './token-expiry.js';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import { errorText } from '../util/error-text.js';

/** Everything a hub is made of; built once, by the composition root (`module/compose-hub.ts`). */
interface HubParts {
  options: ResolvedHubOptions;
  instanceId: string;
  counters: HubCounters;
  registry: ClientRegistry;
  events: HubEvents;
  link: ClusterLink;
  rooms: Rooms;
  heartbeat: HeartbeatScheduler;
  closer: Closer;
  drainer: Drainer;
  delivery: Delivery;
  strategy: DeliveryStrategy;
  registrar: Registrar;
  dispatcher: HubFrameDispatcher;
  adapterHost: AdapterHost;
  expiry: TokenExpiry;
}

/** What the hub's gateway (and the socket adapter, and the handshake) may ask of it. */
export interface GatewayRole {
  readonly instanceId: string;
  /** Emits when a client is announced (its welcome sent): `HubService.connected$`. */
  readonly connected$: Observable<HubConnectedEvent>;
  readonly online: number;
  readonly isShuttingDown: boolean;
  /** Draining (deploy): handshakes are refused (503), clients closed with 1012 in batches. */
  readonly draining: boolean;
  readonly authenticator: HubAuthenticateFn | undefined;
  connectionsFromIp(ip: string): number;
  countRejected(status: number): void;
  register(socket: HubSocket, info: ConnectionInfo): Connection | undefined;
  unregister(socket: HubSocket, code: number | undefined): void;
  handleFrame(
    client: Connection,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void;
  /** The socket of a registered client, by id (to let the app's gateways see it). */
  socketOf(clientId: string): HubSocket | undefined;
  /** Who answers which client event: the gateway declares the built-ins and the app's gateways. */
  readonly routes: RouteTable;
  /** The built-in echo: `message` → `ack`. */
  ack(client: Connection, data: unknown, id: string | number | undefined): unknown;
  join(client: Connection, room: unknown): Promise<{ room: string; pos?: Position }>;
  leave(client: Connection, room: unknown): { room: string } | Promise<{ room: string }>;
  /** A `refresh` was accepted: the client's new principal; returns the `refreshed` data. */
  renewToken(client: Connection, principal: HubPrincipal): TokenExpiryData | Record<string, never>;
}

/** What the metrics read (when scraped) and hook into. */
export interface MonitorRole {
  readonly instanceId: string;
  readonly counters: HubCounters;
  readonly online: number;
  readonly userCount: number;
  readonly roomCount: number;
  /** Whether other instances exist behind the cluster adapter. */
  readonly distributed: boolean;
  /** Bytes queued in client sockets. */
  bufferedBytes(): number;
  adapterStats(): HubAdapterStats | undefined;
  /** Told how long each broadcast's fan-out took, in milliseconds (undefined: not timed). */
  timeBroadcasts(observe: ((ms: number) => void) | undefined): void;
}

/** What the health indicator reads. */
export interface HealthRole {
  readonly instanceId: string;
  readonly online: number;
  readonly isShuttingDown: boolean;
  readonly draining: boolean;
  readonly distributed: boolean;
  adapterStats(): HubAdapterStats | undefined;
}

/**
 * The hub's object graph, and the side of it the gateway, the socket adapter, the handshake,
 * the metrics and the health indicator see, each through its own role (`GatewayRole`,
 * `MonitorRole`, `HealthRole`). `HubService` is the public face over it.
 */
export class HubCore implements GatewayRole, MonitorRole, HealthRole {
  readonly options: ResolvedHubOptions;
  readonly instanceId: string;
  readonly counters: HubCounters;
  readonly registry: ClientRegistry;
  readonly events: HubEvents;
  readonly link: ClusterLink;
  readonly rooms: Rooms;
  readonly heartbeat: HeartbeatScheduler;
  readonly closer: Closer;
  readonly drainer: Drainer;
  readonly delivery: Delivery;
  readonly strategy: DeliveryStrategy;
  readonly adapterHost: AdapterHost;
  /** Connection expiry (tokens that expire). */
  readonly expiry: TokenExpiry;
  readonly registrar: Registrar;
  private readonly dispatcher: HubFrameDispatcher;
  /** The resolved `authenticate` hook, read by the handshake. */
  authenticator: HubAuthenticateFn | undefined;
  /** Set when shutdown begins: new handshakes are refused, accepted sockets closed. */
  isShuttingDown = false;
  /** Set when a drain begins (`drain()`), never unset: the instance is on its way out. */
  draining = false;
  private drained: Promise<DrainResult> | undefined;

  constructor(parts: HubParts) {
    this.options = parts.options;
    this.instanceId = parts.instanceId;
    this.counters = parts.counters;
    this.registry = parts.registry;
    this.events = parts.events;
    this.link = parts.link;
    this.rooms = parts.rooms;
    this.heartbeat = parts.heartbeat;
    this.closer = parts.closer;
    this.drainer = parts.drainer;
    this.delivery = parts.delivery;
    this.strategy = parts.strategy;
    this.registrar = parts.registrar;
    this.dispatcher = parts.dispatcher;
    this.adapterHost = parts.adapterHost;
    this.expiry = parts.expiry;
  }

  get connected$(): Observable<HubConnectedEvent> {
    return this.events.connected;
  }

  set authorizeJoin(fn: HubAuthorizeJoinFn | undefined) {
    this.rooms.authorizeJoin = fn;
  }

  /** Clients connected to this instance. */
  get online(): number {
    return this.registry.size;
  }

  get userCount(): number {
    return this.registry.userCount;
  }

  get roomCount(): number {
    return this.rooms.count;
  }

  get distributed(): boolean {
    return this.link.distributed;
  }

  bufferedBytes(): number {
    let bytes = 0;
    for (const client of this.registry.list) bytes += client.socket.bufferedAmount;
    return bytes;
  }

  adapterStats(): HubAdapterStats | undefined {
    return this.link.stats();
  }

  timeBroadcasts(observe: ((ms: number) => void) | undefined): void {
    this.delivery.onBroadcastTimed = observe;
  }

  /**
   * Drains the instance (once; later calls get the same promise): not ready, handshakes refused,
   * clients closed with 1012 in batches over `drainMs` (see `Drainer`).
   */
  drain(): Promise<DrainResult> {
    this.draining = true;
    this.drained ??= this.drainer.run(this.options.drainMs, this.options.shutdownTimeoutMs);
    return this.drained;
  }

  /** Registers a socket the gateway accepted; undefined once a drain or shutdown has begun. */
  register(socket: HubSocket, info: ConnectionInfo): Connection | undefined {
    if (this.draining) {
      // Accepted just before the drain began: go elsewhere, as the drained clients do.
      socket.close(DRAIN_CLOSE.code, DRAIN_CLOSE.reason);
      return undefined;
    }
    if (this.isShuttingDown) {
      socket.close(CloseCode.GOING_AWAY, 'server shutting down');
      return undefined;
    }
    return this.registrar.register(socket, info);
  }

  /** Unregisters a socket after its close event. */
  unregister(socket: HubSocket, code: number | undefined): void {
    const client = socket[kConnection];
    if (client) this.closer.closed(client, code);
  }

  socketOf(clientId: string): HubSocket | undefined {
    return this.registry.get(clientId)?.socket;
  }

  /** Connections currently open from one IP (for `maxConnectionsPerIp`). */
  connectionsFromIp(ip: string): number {
    return this.registry.fromIp(ip);
  }

  /** Counts a handshake refused with an HTTP status. */
  countRejected(status: number): void {
    const rejected = this.counters.rejected;
    rejected[status] = (rejected[status] ?? 0) + 1;
  }

  /** Handles one incoming frame (see `HubFrameDispatcher`). */
  handleFrame(
    client: Connection,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void {
    this.dispatcher.handleFrame(client, raw, isBinary, handlers);
  }

  /** Who answers which client event (see `RouteTable`; `HubService.handle` adds to it). */
  get routes(): RouteTable {
    return this.dispatcher.routes;
  }

  /**
   * The built-in echo, on every path (the fast one and Nest's): `messages$`, then the reply
   * `{"event":"ack","id":<the frame's>,"data":<the frame's data>}`.
   */
  ack(client: Connection, data: unknown, id: string | number | undefined): unknown {
    if (this.events.message.observed) {
      this.events.message.next({
        clientId: client.id,
        userId: client.userId,
        event: ClientEvent.MESSAGE,
        data,
        id,
      });
    }
    return { event: ServerEvent.ACK, data };
  }

  /**
   * A client's `join`: the room, and where a recovering client starts in its stream. Without
   * that position (the history store is unreachable) a recovering client cannot tell what it
   * missed: the join is undone and answered `UNAVAILABLE` (the client may try again).
   */
  join(client: Connection, room: unknown): Promise<{ room: string; pos?: Position }> {
    return this.rooms.requestJoin(client, room, async (joined, added) => {
      let pos: Position | undefined;
      try {
        pos = await this.strategy.joinedPosition(client, joined);
      } catch (err) {
        if (added) this.rooms.remove(client, joined);
        throw new HubError(
          ErrorCode.UNAVAILABLE,
          `could not join "${joined}" now: ${errorText(err)}; try again`,
        );
      }
      return pos === undefined ? { room: joined } : { room: joined, pos };
    });
  }

  renewToken(client: Connection, principal: HubPrincipal): TokenExpiryData | Record<string, never> {
    return this.expiry.renewed(client, principal);
  }

  /** A client's `leave` (after its pending join of the room, if any). */
  leave(client: Connection, room: unknown): { room: string } | Promise<{ room: string }> {
    const left = this.rooms.requestLeave(client, room);
    return typeof left === 'string' ? { room: left } : left.then((r) => ({ room: r }));
  }
}

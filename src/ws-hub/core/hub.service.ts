import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { HubInstanceInfo } from '../interfaces/cluster-adapter.interface.js';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import type {
  BroadcastOptions,
  HubClientInfo,
  HubConnectedEvent,
  HubDisconnectedEvent,
  HubDrainResult,
  HubMessageEvent,
  HubStats,
} from '../interfaces/events.interface.js';
import { WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS } from './tokens.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { isAppCloseCode } from '../protocol/close.js';
import { CloseCode, DisconnectReason, ServerEvent } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import { infoOf } from './client-info.js';
import type { HubEventHandler } from '../interfaces/events.interface.js';
import { OutgoingFrame } from './frame-writer.js';
import type { HubCore } from './hub-core.js';

function toList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

/**
 * The hub: registry of connected clients, heartbeat, and every way to send to them.
 * `HubService<ServerEvents>` (the event map `ws-hub/client`'s `createHubClient<ServerEvents>`
 * takes) types `broadcast`, `send` and `sendToUser`: a misspelt event or a wrong payload fails
 * to compile. Inject it as `HubService` and annotate the field with the map. Inject it
 * anywhere (controllers, providers, jobs) to broadcast or target clients, users and rooms.
 *
 * The public face only: the work is done by the hub's object graph (built by `composeHub`),
 * and its lifecycle by the module. Replacing it in a test (`overrideProvider(HubService)`)
 * leaves the hub itself working.
 */
@Injectable()
export class HubService<Events extends Record<string, any> = Record<string, any>> {
  /** Random id of this instance; every client id starts with it. */
  readonly instanceId: string;

  /** Emits when a client has connected and been registered. */
  readonly connected$: Observable<HubConnectedEvent>;
  /** Emits when a client is gone, with the close code and why. */
  readonly disconnected$: Observable<HubDisconnectedEvent>;
  /**
   * Emits every `message` event a client sends, just before its ack is sent. Subscriber code
   * must not throw: rxjs rethrows a subscriber's error asynchronously, out of the hub's reach.
   */
  readonly messages$: Observable<HubMessageEvent>;
  /** Emits the id of another instance that died without leaving (its clients are gone with it). */
  readonly instanceGone$: Observable<string>;

  /** @internal Built by Nest: the hub's object graph is not part of the API. */
  constructor(
    @Inject(WS_HUB_RESOLVED_OPTIONS) readonly options: ResolvedHubOptions,
    @Inject(WS_HUB_CORE) private readonly hub: HubCore,
  ) {
    this.instanceId = hub.instanceId;
    this.connected$ = hub.events.connected.asObservable();
    this.disconnected$ = hub.events.disconnected.asObservable();
    this.messages$ = hub.events.message.asObservable();
    this.instanceGone$ = hub.events.instanceGone.asObservable();
  }

  /** Clients connected to this instance. */
  get online(): number {
    return this.hub.registry.size;
  }

  /** A snapshot of this instance's clients. */
  clients(): HubClientInfo[] {
    const out: HubClientInfo[] = [];
    for (const c of this.hub.registry.list) out.push(infoOf(c));
    return out;
  }

  /** Whether a client is connected to this instance. */
  isOnline(clientId: string): boolean {
    return this.hub.registry.has(clientId);
  }

  /** Info about one client of this instance, or undefined. */
  client(clientId: string): HubClientInfo | undefined {
    const c = this.hub.registry.get(clientId);
    return c ? infoOf(c) : undefined;
  }

  /**
   * Sends `{event, data}` to every client (or to the members of `options.rooms`), minus
   * `options.except`, on every instance. Serialised and framed once. Returns how many clients
   * of this instance it is for.
   */
  broadcast<E extends keyof Events & string>(
    event: E,
    data?: Events[E],
    options?: BroadcastOptions,
  ): number {
    const frame = new OutgoingFrame(encodeFrame(assertAppEvent(event), data));
    return this.hub.strategy.broadcast(frame, toList(options?.rooms), toList(options?.except));
  }

  /**
   * Sends `{event, data}` to one client, wherever it is connected. Returns whether the client
   * is connected here or, for a client id that may be connected elsewhere, that the message was
   * handed to the adapter (delivery to a remote client is not confirmed).
   */
  send<E extends keyof Events & string>(clientId: string, event: E, data?: Events[E]): boolean {
    return this.hub.strategy.send(
      clientId,
      new OutgoingFrame(encodeFrame(assertAppEvent(event), data)),
    );
  }

  /** Sends to every connection of a user on every instance; returns how many are here. */
  sendToUser<E extends keyof Events & string>(userId: string, event: E, data?: Events[E]): number {
    return this.hub.strategy.toUser(
      userId,
      new OutgoingFrame(encodeFrame(assertAppEvent(event), data)),
    );
  }

  /** Closes one client (on any instance) with `code` (1000 or 3000-4999). */
  disconnect(
    clientId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): boolean {
    assertCloseCode(code);
    const client = this.hub.registry.get(clientId);
    if (client) {
      this.hub.closer.close(client, code, reason, DisconnectReason.SERVER_DISCONNECT);
      return true;
    }
    if (!this.hub.link.isRemoteClientId(clientId)) return false;
    this.hub.link.publish({ type: 'disconnect', clientId, code, reason });
    return true;
  }

  /** Closes every connection of a user on every instance; returns how many were here. */
  disconnectUser(
    userId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): number {
    assertCloseCode(code);
    const n = this.hub.closer.closeUser(userId, code, reason);
    this.hub.link.publish({ type: 'disconnect-user', userId, code, reason });
    return n;
  }

  /**
   * Revokes a user's access: every connection of the user, on every instance, closes with 4441
   * (`reason`, default `revoked`; `ws-hub/client` stops, cause `revoked`), and resumable
   * sessions end (no resume). Call it on logout or when an account is blocked, and make
   * `authenticate` refuse the user's old tokens. Returns how many connections were here.
   */
  revokeUser(userId: string, reason = 'revoked'): number {
    const n = this.hub.closer.closeUser(
      userId,
      CloseCode.REVOKED,
      reason,
      DisconnectReason.REVOKED,
    );
    this.hub.link.publish({ type: 'revoke-user', userId, reason });
    return n;
  }

  /**
   * Like `revokeUser`, for the connections of this instance whose principal `match` picks (a
   * role withdrawn, a tenant blocked, a token id blacklisted): closed with 4441, sessions ended.
   * Connections without a principal are not offered. Returns how many were closed.
   */
  revoke(match: (principal: HubPrincipal) => boolean, reason = 'revoked'): number {
    return this.hub.closer.closeWhere(
      (c) => c.principal !== undefined && match(c.principal),
      CloseCode.REVOKED,
      reason,
      DisconnectReason.REVOKED,
    );
  }

  /** Adds a client of this instance to a room; false when the client is not here. */
  join(clientId: string, room: string): boolean {
    this.hub.rooms.assertName(room);
    const client = this.hub.registry.get(clientId);
    if (!client) return false;
    void this.hub.rooms.add(client, room);
    return true;
  }

  /** Removes a client of this instance from a room; false when it was not in it. */
  leave(clientId: string, room: string): boolean {
    const client = this.hub.registry.get(clientId);
    return client ? this.hub.rooms.remove(client, room, true) : false;
  }

  /** Rooms a client of this instance is in. */
  roomsOf(clientId: string): string[] {
    const rooms = this.hub.registry.get(clientId)?.rooms;
    return rooms ? [...rooms] : [];
  }

  /** Ids of this instance's clients in a room. */
  membersOf(room: string): string[] {
    const members = this.hub.rooms.members(room);
    return members ? [...members].map((c) => c.id) : [];
  }

  /** Rooms with at least one member on this instance. */
  rooms(): string[] {
    return this.hub.rooms.names();
  }

  /** Connections of a user on this instance. */
  connectionsOf(userId: string): string[] {
    const set = this.hub.registry.ofUser(userId);
    return set ? [...set].map((c) => c.id) : [];
  }

  /** Clients connected across every live instance (this one alone without a cluster adapter). */
  clusterOnline(): Promise<number> {
    return this.hub.link.clusterOnline();
  }

  /** Live instances of the cluster, this one included. */
  instances(): Promise<HubInstanceInfo[]> {
    return this.hub.link.instances();
  }

  /**
   * Handles a custom client event (`{"event": name, ...}`) next to the built-in ones. Returns
   * a function that removes the handler. An event a built-in or an app gateway takes, or one
   * with a handler already, is refused (`RangeError`); built-ins and gateways answer first.
   */
  handle<T = any>(event: string, handler: HubEventHandler<T>): () => void {
    return this.hub.routes.handle(event, handler as HubEventHandler);
  }

  /** Counters for monitoring. */
  stats(): HubStats {
    const c = this.hub.counters;
    return {
      online: this.hub.registry.size,
      droppedMessages: c.dropped,
      slowConsumersClosed: c.slowClosed,
      rejectedHandshakes: { ...c.rejected },
      adapter: this.hub.link.stats(),
    };
  }

  /**
   * Drains this instance before a deploy stops it (shutdown does it by itself): from now on the
   * health indicator says `down` (not ready) and handshakes get HTTP 503 with `Retry-After: 1`;
   * the clients are closed with 1012 `server restarting` in batches spread over `drainMs`, and
   * reconnect elsewhere. Resolves once every client has answered its close or been cut (after
   * `shutdownTimeoutMs`). Once only: later calls get the same result. The instance stays
   * drained (it refuses connections) until the app is closed.
   */
  drain(): Promise<HubDrainResult> {
    return this.hub.drain();
  }

  /** Whether a drain (or shutdown) has begun: the instance refuses new connections. */
  get draining(): boolean {
    return this.hub.draining;
  }
}

function assertCloseCode(code: number): void {
  if (!isAppCloseCode(code)) {
    throw new RangeError(`close code must be 1000 or within 3000-4999, got ${code}`);
  }
}

/** The server's own events (`welcome`, `joined`, `skip`, ...): clients act on them. */
const SERVER_EVENTS: ReadonlySet<string> = new Set(Object.values(ServerEvent));

/**
 * An app's event name, refused when it is one of the server's own: a client would take a
 * `joined` for a room it never asked for, or step over a `skip` as a position without a
 * message (a `RangeError`, like a bad room name).
 */
function assertAppEvent<E extends string>(event: E): E {
  if (SERVER_EVENTS.has(event)) {
    throw new RangeError(
      `"${event}" is an event of the hub's protocol; give the message another name`,
    );
  }
  return event;
}

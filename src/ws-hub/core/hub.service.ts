import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationShutdown,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { HubAdapter, HubInstanceInfo } from '../interfaces/cluster-adapter.interface.js';
import type {
  BroadcastOptions,
  HubClientInfo,
  HubConnectedEvent,
  HubDisconnectedEvent,
  HubMessageEvent,
  HubStats,
} from '../interfaces/events.interface.js';
import type { HubAuthenticateFn, HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import { WS_HUB_ADAPTER, WS_HUB_RESOLVED_OPTIONS } from '../module/tokens.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { isAppCloseCode } from '../protocol/close.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import type { HubEventHandler } from './frame-dispatcher.js';
import { OutgoingFrame } from './frame-writer.js';
import { resolveHook } from './hooks.js';
import { HubCore } from './hub-core.js';
import { hubLogger } from '../logger.js';
import { startupSummary } from './summary.js';
import { infoOf } from './client-info.js';

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
 * The public face only: the work is done by collaborators wired here by hand (registry,
 * rooms, delivery, closer, registrar, dispatcher, and the link to the cluster adapter).
 */
@Injectable()
export class HubService<Events extends Record<string, any> = Record<string, any>>
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** @internal The collaborators behind this service; the gateway talks to it. */
  readonly core: HubCore;
  /** Random id of this instance; every client id starts with it. */
  readonly instanceId: string;
  private readonly registry;
  private readonly roomIndex;
  private readonly delivery;
  private readonly closer;
  private readonly link;
  private readonly adapterName: string;

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

  constructor(
    @Inject(WS_HUB_RESOLVED_OPTIONS) readonly options: ResolvedHubOptions,
    @Inject(WS_HUB_ADAPTER) adapter: HubAdapter,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    const core = (this.core = new HubCore(options, adapter));
    this.adapterName = adapter.constructor?.name ?? 'custom';
    this.instanceId = core.instanceId;
    this.registry = core.registry;
    this.roomIndex = core.rooms;
    this.delivery = core.delivery;
    this.closer = core.closer;
    this.link = core.link;
    this.connected$ = core.streams.connected.asObservable();
    this.disconnected$ = core.streams.disconnected.asObservable();
    this.messages$ = core.streams.message.asObservable();
    this.instanceGone$ = core.streams.instanceGone.asObservable();
  }

  // ---------------------------------------------------------------- public API

  /** Clients connected to this instance. */
  get online(): number {
    return this.registry.size;
  }

  /** A snapshot of this instance's clients. */
  clients(): HubClientInfo[] {
    const out: HubClientInfo[] = [];
    for (const c of this.registry.values()) out.push(infoOf(c));
    return out;
  }

  /** Whether a client is connected to this instance. */
  isOnline(clientId: string): boolean {
    return this.registry.has(clientId);
  }

  /** Info about one client of this instance, or undefined. */
  client(clientId: string): HubClientInfo | undefined {
    const c = this.registry.get(clientId);
    return c ? infoOf(c) : undefined;
  }

  /**
   * Sends `{event, data}` to every client (or to the members of `options.rooms`), minus
   * `options.except`, on every instance. Serialised and framed once. Returns how many clients
   * of this instance it was written to.
   */
  broadcast<E extends keyof Events & string>(
    event: E,
    data?: Events[E],
    options?: BroadcastOptions,
  ): number {
    const frame = new OutgoingFrame(encodeFrame(event, data));
    const rooms = toList(options?.rooms);
    const except = toList(options?.except);
    const recovery = this.core.recovery;
    if (recovery !== undefined) return recovery.broadcast(frame, rooms, except);
    const delivered = this.delivery.broadcast(frame, rooms, except);
    this.link.publish({ type: 'broadcast', frame: frame.text, rooms, except });
    return delivered;
  }

  /**
   * Sends `{event, data}` to one client, wherever it is connected. Returns whether the client
   * is connected here or, for a client id of another instance, that the message was handed to
   * the adapter (delivery to a remote client is not confirmed).
   */
  send<E extends keyof Events & string>(clientId: string, event: E, data?: Events[E]): boolean {
    const text = encodeFrame(event, data);
    const recovery = this.core.recovery;
    if (recovery !== undefined) return recovery.send(clientId, new OutgoingFrame(text));
    const client = this.registry.get(clientId);
    if (client) {
      this.delivery.text(client, text);
      return true;
    }
    if (!this.link.isRemoteClientId(clientId)) return false;
    this.link.publish({ type: 'send', clientId, frame: text });
    return true;
  }

  /** Sends to every connection of a user on every instance; returns how many were here. */
  sendToUser<E extends keyof Events & string>(userId: string, event: E, data?: Events[E]): number {
    const text = encodeFrame(event, data);
    const recovery = this.core.recovery;
    if (recovery !== undefined) return recovery.toUser(userId, new OutgoingFrame(text));
    const n = this.delivery.toUser(userId, new OutgoingFrame(text));
    this.link.publish({ type: 'user', userId, frame: text });
    return n;
  }

  /** Closes one client (on any instance) with `code` (1000 or 3000-4999). */
  disconnect(
    clientId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): boolean {
    assertCloseCode(code);
    const client = this.registry.get(clientId);
    if (client) {
      this.closer.close(client, code, reason, DisconnectReason.SERVER_DISCONNECT);
      return true;
    }
    if (!this.link.isRemoteClientId(clientId)) return false;
    this.link.publish({ type: 'disconnect', clientId, code, reason });
    return true;
  }

  /** Closes every connection of a user on every instance; returns how many were here. */
  disconnectUser(
    userId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): number {
    assertCloseCode(code);
    const n = this.closer.closeUser(userId, code, reason);
    this.link.publish({ type: 'disconnect-user', userId, code, reason });
    return n;
  }

  /** Adds a client of this instance to a room; false when the client is not here. */
  join(clientId: string, room: string): boolean {
    this.roomIndex.assertName(room);
    const client = this.registry.get(clientId);
    if (!client) return false;
    this.roomIndex.add(client, room);
    return true;
  }

  /** Removes a client of this instance from a room; false when it was not in it. */
  leave(clientId: string, room: string): boolean {
    const client = this.registry.get(clientId);
    return client ? this.roomIndex.remove(client, room) : false;
  }

  /** Rooms a client of this instance is in. */
  roomsOf(clientId: string): string[] {
    const rooms = this.registry.get(clientId)?.rooms;
    return rooms ? [...rooms] : [];
  }

  /** Ids of this instance's clients in a room. */
  membersOf(room: string): string[] {
    const members = this.roomIndex.members(room);
    return members ? [...members].map((c) => c.id) : [];
  }

  /** Rooms with at least one member on this instance. */
  rooms(): string[] {
    return this.roomIndex.names();
  }

  /** Connections of a user on this instance. */
  connectionsOf(userId: string): string[] {
    const set = this.registry.ofUser(userId);
    return set ? [...set].map((c) => c.id) : [];
  }

  /** Clients connected across every live instance (this one alone without a cluster adapter). */
  clusterOnline(): Promise<number> {
    return this.link.clusterOnline();
  }

  /** Live instances of the cluster, this one included. */
  instances(): Promise<HubInstanceInfo[]> {
    return this.link.instances();
  }

  /**
   * Handles a custom client event (`{"event": name, ...}`) next to the built-in ones. Returns
   * a function that removes the handler. The built-in event names cannot be taken.
   */
  handle<T = any>(event: string, handler: HubEventHandler<T>): () => void {
    return this.core.dispatcher.handle(event, handler);
  }

  /** Counters for monitoring. */
  stats(): HubStats {
    return {
      online: this.registry.size,
      droppedMessages: this.core.counters.dropped,
      slowConsumersClosed: this.core.counters.slowClosed,
      rejectedHandshakes: { ...this.core.counters.rejected },
      adapter: this.link.stats(),
    };
  }

  // ----------------------------------------------------------- lifecycle hooks

  async onModuleInit(): Promise<void> {
    this.core.authenticator = await resolveHook<HubAuthenticateFn>(
      this.moduleRef,
      this.options.authenticate,
      'authenticate',
    );
    this.core.authorizeJoin = await resolveHook<HubAuthorizeJoinFn>(
      this.moduleRef,
      this.options.authorizeJoin,
      'authorizeJoin',
    );
    await this.link.init(this.core.adapterHost);
  }

  /**
   * Nest's ws adapter terminates sockets (1006) when it disposes; closing here first, before
   * it runs, gives every client a 1001 close frame it can act on (reconnect elsewhere).
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.core.isShuttingDown) return;
    this.core.isShuttingDown = true;
    this.core.heartbeat.stop();
    const startMs = performance.now();
    const { clients, answered } = await this.closer.drain(this.options.shutdownTimeoutMs);
    await this.core.closeRecovery();
    await this.link.close();
    hubLogger.log(
      `hub stopped: ${clients} clients closed with 1001, ${answered} answered, ` +
        `${clients - answered} cut; ${Math.round(performance.now() - startMs)} ms`,
    );
  }

  /** One log line with the effective options, once the app is up. */
  onApplicationBootstrap(): void {
    hubLogger.log(startupSummary(this.options, this.adapterName));
  }

  onApplicationShutdown(): void {
    this.core.heartbeat.stop();
    this.closer.dispose();
    this.core.streams.complete();
  }
}

function assertCloseCode(code: number): void {
  if (!isAppCloseCode(code)) {
    throw new RangeError(`close code must be 1000 or within 3000-4999, got ${code}`);
  }
}

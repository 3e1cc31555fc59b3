import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Observable, Subject } from 'rxjs';
import { WebSocket } from 'ws';
import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
} from '../interfaces/cluster-adapter.interface.js';
import { HandshakeResult, HubClient, kHandshake, kHubClient } from './hub-client.js';
import { CloseCode, DisconnectReason, ErrorCode, ServerEvent } from '../protocol/constants.js';
import { WS_HUB_ADAPTER, WS_HUB_RESOLVED_OPTIONS } from '../module/tokens.js';
import { HubError } from '../protocol/hub.error.js';
import type {
  BroadcastOptions,
  HubClientInfo,
  HubConnectedEvent,
  HubDisconnectedEvent,
  HubMessageEvent,
  HubStats,
} from '../interfaces/events.interface.js';
import {
  frameSenderOf,
  frameStats,
  isOpen,
  OutgoingFrame,
  writeFrame,
  writePing,
} from './frame-writer.js';
import { clientIpOf } from '../gateway/handshake.js';
import { HeartbeatScheduler } from './heartbeat.js';
import {
  HubFrameDispatcher,
  type HubDirectHandler,
  type HubEventHandler,
  type HubFrameHandler,
} from './frame-dispatcher.js';
import type {
  HubAuthenticateFn,
  HubAuthorizeJoinFn,
  HubPrincipal,
} from '../interfaces/options.interface.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { encodeFrame } from '../protocol/envelope.js';

/** Grace period for a client to answer a server close before its socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;
/** Longest room name accepted, in characters. */
const MAX_ROOM_LENGTH = 128;
const ROOM_RULE = `must be a non-empty string of at most ${MAX_ROOM_LENGTH} characters`;

function isValidRoom(room: unknown): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_LENGTH;
}

function toList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

const OPEN = WebSocket.OPEN;

/** A close reason must fit a control frame: at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let out = reason.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  // A cut through a surrogate pair would leave half a character.
  if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  return out;
}

function isValidCloseCode(code: number): boolean {
  return Number.isInteger(code) && (code === 1000 || (code >= 3000 && code <= 4999));
}

function onPong(this: WebSocket): void {
  const client = (this as unknown as Record<symbol, HubClient | undefined>)[kHubClient];
  if (client) client.alive = true;
}

/**
 * The hub: registry of connected clients, heartbeat, and every way to send to them. Inject it
 * anywhere (controllers, providers, jobs) to broadcast or target clients, users and rooms.
 */
@Injectable()
export class HubService
  implements HubAdapterHost, OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** Random id of this instance; every client id starts with it. */
  readonly instanceId = randomBytes(6).toString('base64url');

  private readonly logger = new Logger('WsHub');
  private readonly byId = new Map<string, HubClient>();
  /** The same clients as a dense array: the broadcast loop walks it (cheaper than a Map). */
  private readonly list: HubClient[] = [];
  private readonly byUser = new Map<string, Set<HubClient>>();
  private readonly byRoom = new Map<string, Set<HubClient>>();
  private readonly byIp = new Map<string, number>();
  private readonly heartbeat: HeartbeatScheduler;
  private readonly connectedSubject = new Subject<HubConnectedEvent>();
  private readonly disconnectedSubject = new Subject<HubDisconnectedEvent>();
  private readonly messageSubject = new Subject<HubMessageEvent>();
  private readonly instanceGoneSubject = new Subject<string>();
  private authenticateFn: HubAuthenticateFn | undefined;
  private authorizeJoinFn: HubAuthorizeJoinFn | undefined;
  private shuttingDown = false;
  private droppedTotal = 0;
  private slowClosedTotal = 0;
  private readonly rejected: Record<string, number> = {};
  private readonly closeTimers = new Set<NodeJS.Timeout>();
  /** Rooms whose cross-instance subscription the adapter has not confirmed yet. */
  private readonly pendingRooms = new Map<string, Promise<void>>();
  private readonly dispatcher: HubFrameDispatcher;

  /** Emits when a client has connected and been registered. */
  readonly connected$: Observable<HubConnectedEvent> = this.connectedSubject.asObservable();
  /** Emits when a client is gone, with the close code and why. */
  readonly disconnected$: Observable<HubDisconnectedEvent> =
    this.disconnectedSubject.asObservable();
  /**
   * Emits every `message` event a client sends, just before its ack is sent. Subscriber code
   * must not throw: rxjs rethrows a subscriber's error asynchronously, out of the hub's reach.
   */
  readonly messages$: Observable<HubMessageEvent> = this.messageSubject.asObservable();
  /** Emits the id of another instance that died without leaving (its clients are gone with it). */
  readonly instanceGone$: Observable<string> = this.instanceGoneSubject.asObservable();

  constructor(
    @Inject(WS_HUB_RESOLVED_OPTIONS) readonly options: ResolvedHubOptions,
    @Inject(WS_HUB_ADAPTER) private readonly adapter: HubAdapter,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.dispatcher = new HubFrameDispatcher(options, this.logger, {
      deliverText: (client, text) => this.deliverText(client, text),
      closeClient: (client, code, reason, why) => this.closeClient(client, code, reason, why),
    });
    this.heartbeat = new HeartbeatScheduler(
      options.pingIntervalMs,
      options.maxMissedPongs,
      (client) => this.ping(client),
      (client) => this.evict(client),
    );
  }

  // ---------------------------------------------------------------- public API

  /** Clients connected to this instance. */
  get online(): number {
    return this.byId.size;
  }

  /** Same as `online`; the name `HubAdapterHost` asks for. */
  get localOnline(): number {
    return this.byId.size;
  }

  /** A snapshot of this instance's clients. */
  clients(): HubClientInfo[] {
    const out: HubClientInfo[] = [];
    for (const c of this.byId.values()) out.push(this.info(c));
    return out;
  }

  /** Whether a client is connected to this instance. */
  isOnline(clientId: string): boolean {
    return this.byId.has(clientId);
  }

  /** Info about one client of this instance, or undefined. */
  client(clientId: string): HubClientInfo | undefined {
    const c = this.byId.get(clientId);
    return c ? this.info(c) : undefined;
  }

  /**
   * Sends `{event, data}` to every client (or to the members of `options.rooms`), minus
   * `options.except`, on every instance. Serialised and framed once. Returns how many clients
   * of this instance it was written to.
   */
  broadcast(event: string, data?: unknown, options?: BroadcastOptions): number {
    const frame = new OutgoingFrame(encodeFrame(event, data));
    const rooms = toList(options?.rooms);
    const except = toList(options?.except);
    const delivered = this.deliverBroadcast(frame, rooms, except);
    this.publish({ type: 'broadcast', frame: frame.text, rooms, except });
    return delivered;
  }

  /**
   * Sends `{event, data}` to one client, wherever it is connected. Returns whether the client
   * is connected here or, for a client id of another instance, that the message was handed to
   * the adapter (delivery to a remote client is not confirmed).
   */
  send(clientId: string, event: string, data?: unknown): boolean {
    const text = encodeFrame(event, data);
    const client = this.byId.get(clientId);
    if (client) {
      this.deliverText(client, text);
      return true;
    }
    if (!this.isRemoteClientId(clientId)) return false;
    this.publish({ type: 'send', clientId, frame: text });
    return true;
  }

  /** Sends to every connection of a user on every instance; returns how many were here. */
  sendToUser(userId: string, event: string, data?: unknown): number {
    const text = encodeFrame(event, data);
    const n = this.deliverToUser(userId, text);
    this.publish({ type: 'user', userId, frame: text });
    return n;
  }

  /** Closes one client (on any instance) with `code` (1000 or 3000-4999). */
  disconnect(
    clientId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): boolean {
    this.assertCloseCode(code);
    const client = this.byId.get(clientId);
    if (client) {
      this.closeClient(client, code, reason, DisconnectReason.SERVER_DISCONNECT);
      return true;
    }
    if (!this.isRemoteClientId(clientId)) return false;
    this.publish({ type: 'disconnect', clientId, code, reason });
    return true;
  }

  /** Closes every connection of a user on every instance; returns how many were here. */
  disconnectUser(
    userId: string,
    code: number = CloseCode.NORMAL,
    reason = 'disconnected by server',
  ): number {
    this.assertCloseCode(code);
    const n = this.closeUser(userId, code, reason);
    this.publish({ type: 'disconnect-user', userId, code, reason });
    return n;
  }

  /** Adds a client of this instance to a room; false when the client is not here. */
  join(clientId: string, room: string): boolean {
    this.assertRoom(room);
    const client = this.byId.get(clientId);
    if (!client) return false;
    this.addToRoom(client, room);
    return true;
  }

  /** Removes a client of this instance from a room; false when it was not in it. */
  leave(clientId: string, room: string): boolean {
    const client = this.byId.get(clientId);
    return client ? this.removeFromRoom(client, room) : false;
  }

  /** Rooms a client of this instance is in. */
  roomsOf(clientId: string): string[] {
    const rooms = this.byId.get(clientId)?.rooms;
    return rooms ? [...rooms] : [];
  }

  /** Ids of this instance's clients in a room. */
  membersOf(room: string): string[] {
    const members = this.byRoom.get(room);
    return members ? [...members].map((c) => c.id) : [];
  }

  /** Rooms with at least one member on this instance. */
  rooms(): string[] {
    return [...this.byRoom.keys()];
  }

  /** Connections of a user on this instance. */
  connectionsOf(userId: string): string[] {
    const set = this.byUser.get(userId);
    return set ? [...set].map((c) => c.id) : [];
  }

  /** Clients connected across every live instance (this one alone without a cluster adapter). */
  clusterOnline(): Promise<number> {
    return this.adapter.clusterOnline();
  }

  /** Live instances of the cluster, this one included. */
  instances(): Promise<HubInstanceInfo[]> {
    return this.adapter.instances();
  }

  /**
   * Handles a custom client event (`{"event": name, ...}`) next to the built-in ones. Returns
   * a function that removes the handler. The built-in event names cannot be taken.
   */
  handle<T = any>(event: string, handler: HubEventHandler<T>): () => void {
    return this.dispatcher.handle(event, handler);
  }

  /** Counters for monitoring. */
  stats(): HubStats {
    return {
      online: this.byId.size,
      droppedMessages: this.droppedTotal,
      slowConsumersClosed: this.slowClosedTotal,
      rejectedHandshakes: { ...this.rejected },
      adapter: this.adapter.stats?.(),
    };
  }

  // ----------------------------------------------------------- lifecycle hooks

  async onModuleInit(): Promise<void> {
    this.authenticateFn = await this.resolveHook(this.options.authenticate, 'authenticate');
    this.authorizeJoinFn = await this.resolveHook(this.options.authorizeJoin, 'authorizeJoin');
    await this.adapter.init(this);
  }

  /**
   * Nest's ws adapter terminates sockets (1006) when it disposes; closing here first, before
   * it runs, gives every client a 1001 close frame it can act on (reconnect elsewhere).
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.heartbeat.stop();
    const closed: Promise<void>[] = [];
    // Deleting from a Map while iterating it is safe: closeClient unregisters as it goes.
    for (const client of this.byId.values()) {
      const socket = client.socket;
      closed.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
      this.closeClient(
        client,
        CloseCode.GOING_AWAY,
        'server shutting down',
        DisconnectReason.SERVER_SHUTDOWN,
        this.options.shutdownTimeoutMs,
      );
    }
    if (closed.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.options.shutdownTimeoutMs + 100);
        }),
      ]);
      clearTimeout(timer);
    }
    try {
      await this.adapter.close();
    } catch (err) {
      this.logger.warn(`adapter close failed: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.heartbeat.stop();
    for (const t of this.closeTimers) clearTimeout(t);
    this.closeTimers.clear();
    this.connectedSubject.complete();
    this.disconnectedSubject.complete();
    this.messageSubject.complete();
    this.instanceGoneSubject.complete();
  }

  // ------------------------------------------------- used by the gateway/adapter

  /** @internal Registers a socket the gateway accepted. */
  register(socket: WebSocket, request: IncomingMessage | undefined): HubClient | undefined {
    if (this.shuttingDown) {
      socket.close(CloseCode.GOING_AWAY, 'server shutting down');
      return undefined;
    }
    const handshake = (
      request as (IncomingMessage & { [kHandshake]?: HandshakeResult }) | undefined
    )?.[kHandshake];
    const ip = handshake?.ip ?? (request ? clientIpOf(request, this.options.clientIp) : 'unknown');
    const client = new HubClient(
      this.instanceId + '.' + randomBytes(9).toString('base64url'),
      socket,
      Date.now(),
      ip,
      handshake?.principal,
    );
    (socket as unknown as Record<symbol, HubClient>)[kHubClient] = client;
    this.byId.set(client.id, client);
    client.index = this.list.length;
    this.list.push(client);
    client.frameSender = frameSenderOf(socket);
    this.byIp.set(ip, (this.byIp.get(ip) ?? 0) + 1);
    const userId = client.userId;
    if (userId !== undefined) {
      let set = this.byUser.get(userId);
      if (!set) {
        set = new Set();
        this.byUser.set(userId, set);
        void this.adapterPromise(() => this.adapter.userAdded(userId));
      }
      set.add(client);
    }
    if (this.options.rateLimit) {
      client.tokens = this.options.rateLimit.burst;
      client.lastRefillMs = performance.now();
    }
    socket.on('pong', onPong);
    this.heartbeat.add(client);
    if (this.options.welcome) {
      const data: Record<string, unknown> = {
        clientId: client.id,
        pingIntervalMs: this.options.pingIntervalMs,
        protocol: 1,
        maxPayloadBytes: this.options.maxPayloadBytes,
      };
      if (userId !== undefined) data.userId = userId;
      this.deliverText(client, encodeFrame(ServerEvent.WELCOME, data));
    }
    this.connectedSubject.next({
      clientId: client.id,
      userId,
      principal: client.principal,
      remoteAddress: ip,
      connectedAt: client.connectedAt,
    });
    return client;
  }

  /** @internal Unregisters a socket after its close event. */
  unregister(socket: WebSocket, code: number | undefined): void {
    const client = (socket as unknown as Record<symbol, HubClient | undefined>)[kHubClient];
    if (!client || client.removed) return;
    this.remove(
      client,
      client.closeCode ?? (typeof code === 'number' ? code : CloseCode.ABNORMAL),
      this.reasonFor(client, code),
    );
  }

  /** @internal Connections currently open from one IP (for `maxConnectionsPerIp`). */
  connectionsFromIp(ip: string): number {
    return this.byIp.get(ip) ?? 0;
  }

  /** @internal Counts a handshake refused with an HTTP status. */
  countRejected(status: number): void {
    this.rejected[status] = (this.rejected[status] ?? 0) + 1;
  }

  /** @internal The resolved `authenticate` hook. */
  get authenticator(): HubAuthenticateFn | undefined {
    return this.authenticateFn;
  }

  /** @internal Whether shutdown has begun (new handshakes are refused). */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** @internal Handles one incoming frame (see `HubFrameDispatcher`). */
  handleFrame(
    client: HubClient,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void {
    this.dispatcher.handleFrame(client, raw, isBinary, handlers);
  }

  /** @internal Lets the gateway's handlers be called without Nest's pipeline (see the gateway). */
  useDirectHandlers(handlers: Map<string, HubDirectHandler> | undefined): void {
    this.dispatcher.directHandlers = handlers;
  }

  /** @internal Publishes a received `message` event on `messages$`. */
  emitMessage(
    client: HubClient,
    event: string,
    data: unknown,
    id: string | number | undefined,
  ): void {
    if (this.messageSubject.observed) {
      this.messageSubject.next({ clientId: client.id, userId: client.userId, event, data, id });
    }
  }

  /** @internal Joins a room on the client's request, subject to `authorizeJoin`. */
  async requestJoin(client: HubClient, room: unknown): Promise<string> {
    if (!isValidRoom(room)) {
      throw new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`);
    }
    if (client.rooms?.has(room)) return room;
    this.assertRoomCapacity(client);
    if (this.authorizeJoinFn) {
      const allowed = await this.authorizeJoinFn({
        clientId: client.id,
        userId: client.userId,
        principal: client.principal,
        room,
      });
      if (allowed !== true)
        throw new HubError(ErrorCode.FORBIDDEN, `not allowed to join "${room}"`);
    }
    if (client.removed || client.rooms?.has(room)) return room;
    // authorizeJoin may have let several joins of this client run at once: count again.
    this.assertRoomCapacity(client);
    this.addToRoom(client, room);
    // Acknowledge only once the room's messages from other instances can reach this one
    // (every joiner waits, not only the one that made the room new here).
    const pending = this.pendingRooms.get(room);
    if (pending) await pending;
    return room;
  }

  /** @internal Leaves a room on the client's request. */
  requestLeave(client: HubClient, room: unknown): string {
    if (!isValidRoom(room)) {
      throw new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`);
    }
    this.removeFromRoom(client, room);
    return room;
  }

  /** @internal Called by the adapter when presence drops an instance that did not leave. */
  instanceGone(instanceId: string): void {
    this.instanceGoneSubject.next(instanceId);
  }

  /** @internal Applies a message another instance published. */
  applyRemote(message: HubAdapterMessage): void {
    switch (message.type) {
      case 'broadcast':
        this.deliverBroadcast(new OutgoingFrame(message.frame), message.rooms, message.except);
        break;
      case 'send': {
        const client = this.byId.get(message.clientId);
        if (client) this.deliverText(client, message.frame);
        break;
      }
      case 'user':
        this.deliverToUser(message.userId, message.frame);
        break;
      case 'disconnect': {
        const client = this.byId.get(message.clientId);
        if (client)
          this.closeClient(
            client,
            message.code,
            message.reason,
            DisconnectReason.SERVER_DISCONNECT,
          );
        break;
      }
      case 'disconnect-user':
        this.closeUser(message.userId, message.code, message.reason);
        break;
    }
  }

  // ------------------------------------------------------------------ internals

  private info(c: HubClient): HubClientInfo {
    const info: HubClientInfo = {
      id: c.id,
      connectedAt: c.connectedAt,
      remoteAddress: c.remoteAddress,
      droppedMessages: c.droppedMessages,
      rooms: c.rooms ? [...c.rooms] : [],
    };
    if (c.userId !== undefined) info.userId = c.userId;
    return info;
  }

  /** Whether a message may be written to a client now; applies the slow-consumer policy. */
  private admit(client: HubClient): boolean {
    const socket = client.socket;
    if (client.removed || !isOpen(socket)) return false;
    if (socket.bufferedAmount <= this.options.maxBufferedBytes) return true;
    if (this.options.slowConsumer === 'drop') {
      client.droppedMessages++;
      this.droppedTotal++;
      return false;
    }
    this.slowClosedTotal++;
    this.closeClient(
      client,
      CloseCode.TRY_AGAIN_LATER,
      'slow consumer',
      DisconnectReason.SLOW_CONSUMER,
    );
    return false;
  }

  private deliverText(client: HubClient, text: string): boolean {
    if (!this.admit(client)) return false;
    client.socket.send(text);
    return true;
  }

  /**
   * The hot loop of the hub: per client only an id check (when `except` is given), the open
   * state, the slow-consumer comparison and one write of the shared frame.
   */
  private deliverBroadcast(
    frame: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number {
    const skip = except && except.length ? new Set(except) : undefined;
    const maxBuffered = this.options.maxBufferedBytes;
    let delivered = 0;
    let framed = 0;
    if (!rooms) {
      const list = this.list;
      for (let i = list.length - 1; i >= 0; i--) {
        const client = list[i];
        if (skip !== undefined && skip.has(client.id)) continue;
        const socket = client.socket;
        if (socket.readyState !== OPEN) continue;
        if (socket.bufferedAmount > maxBuffered && !this.admit(client)) continue;
        if (writeFrame(socket, client.frameSender, frame)) framed++;
        delivered++;
      }
    } else {
      for (let i = 0; i < rooms.length; i++) {
        const members = this.byRoom.get(rooms[i]);
        if (!members) continue;
        for (const client of members) {
          if (skip?.has(client.id) || this.inEarlierRoom(client, rooms, i) || !this.admit(client)) {
            continue;
          }
          if (writeFrame(client.socket, client.frameSender, frame)) framed++;
          delivered++;
        }
      }
    }
    frameStats.framed += framed;
    frameStats.fallback += delivered - framed;
    return delivered;
  }

  /** For a union of rooms: a client in an earlier room of the list was already served. */
  private inEarlierRoom(client: HubClient, rooms: string[], index: number): boolean {
    for (let j = 0; j < index; j++) if (client.rooms!.has(rooms[j])) return true;
    return false;
  }

  private deliverToUser(userId: string, text: string): number {
    const set = this.byUser.get(userId);
    if (!set) return 0;
    let n = 0;
    for (const client of set) if (this.deliverText(client, text)) n++;
    return n;
  }

  private closeUser(userId: string, code: number, reason: string): number {
    const set = this.byUser.get(userId);
    if (!set) return 0;
    const clients = [...set];
    for (const c of clients) this.closeClient(c, code, reason, DisconnectReason.SERVER_DISCONNECT);
    return clients.length;
  }

  private addToRoom(client: HubClient, room: string): void {
    client.rooms ??= new Set();
    if (client.rooms.has(room)) return;
    client.rooms.add(room);
    let members = this.byRoom.get(room);
    if (!members) {
      members = new Set();
      this.byRoom.set(room, members);
      // Kept until the adapter settles, so that every join acknowledged meanwhile waits too.
      const subscribed = this.adapterPromise(() => this.adapter.roomAdded(room));
      if (subscribed) {
        const pending = subscribed.then(() => {
          if (this.pendingRooms.get(room) === pending) this.pendingRooms.delete(room);
        });
        this.pendingRooms.set(room, pending);
      }
    }
    members.add(client);
  }

  private removeFromRoom(client: HubClient, room: string): boolean {
    if (!client.rooms?.delete(room)) return false;
    const members = this.byRoom.get(room);
    if (members && members.delete(client) && members.size === 0) {
      this.byRoom.delete(room);
      this.adapterCall(() => this.adapter.roomRemoved(room));
    }
    return true;
  }

  private ping(client: HubClient): void {
    if (!isOpen(client.socket)) return;
    try {
      writePing(client.socket);
    } catch {
      // The socket closed between the check and the write; its close event unregisters it.
    }
  }

  private evict(client: HubClient): void {
    client.closeReason = DisconnectReason.HEARTBEAT_TIMEOUT;
    this.remove(client, CloseCode.ABNORMAL, DisconnectReason.HEARTBEAT_TIMEOUT);
    client.socket.terminate();
  }

  /**
   * Closes a client with a close frame and unregisters it at once, so it stops counting as
   * online and receives nothing more. A peer that does not answer the close is destroyed
   * after a grace period instead of holding the socket for ws's 30 s close timeout.
   */
  private closeClient(
    client: HubClient,
    code: number,
    reason: string,
    why: string,
    graceMs = CLOSE_GRACE_MS,
  ): void {
    if (client.removed) return;
    client.closeReason = why;
    this.remove(client, code, why);
    const socket = client.socket;
    try {
      socket.close(code, truncateReason(reason));
    } catch (err) {
      // An invalid code: the peer can only be cut (it sees 1006).
      this.logger.warn(
        `closing client ${client.id} with ${code} failed: ${(err as Error).message}`,
      );
      socket.terminate();
      return;
    }
    const timer = setTimeout(() => {
      this.closeTimers.delete(timer);
      socket.terminate();
    }, graceMs);
    timer.unref();
    this.closeTimers.add(timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.closeTimers.delete(timer);
    });
  }

  private remove(client: HubClient, code: number, reason: string): void {
    if (client.removed) return;
    client.removed = true;
    if (client.subscriptions) {
      for (const subscription of client.subscriptions) subscription.unsubscribe();
      client.subscriptions = undefined;
    }
    this.byId.delete(client.id);
    // Swap-remove; the broadcast loop walks the list backwards, so a client removed while it
    // runs (a slow consumer closed) only moves an already-served client into its place.
    const last = this.list.pop()!;
    if (last !== client) {
      this.list[client.index] = last;
      last.index = client.index;
    }
    client.index = -1;
    this.heartbeat.remove(client);
    client.socket.off('pong', onPong);
    const ipCount = (this.byIp.get(client.remoteAddress) ?? 1) - 1;
    if (ipCount <= 0) this.byIp.delete(client.remoteAddress);
    else this.byIp.set(client.remoteAddress, ipCount);
    if (client.rooms) for (const room of client.rooms) this.removeFromRoom(client, room);
    const userId = client.userId;
    if (userId !== undefined) {
      const set = this.byUser.get(userId);
      if (set && set.delete(client) && set.size === 0) {
        this.byUser.delete(userId);
        this.adapterCall(() => this.adapter.userRemoved(userId));
      }
    }
    this.disconnectedSubject.next({ clientId: client.id, userId, code, reason });
  }

  private reasonFor(client: HubClient, code: number | undefined): string {
    if (client.closeReason) return client.closeReason;
    if (code === CloseCode.MESSAGE_TOO_BIG) return DisconnectReason.PAYLOAD_TOO_LARGE;
    if (code === undefined || code === CloseCode.ABNORMAL) return DisconnectReason.CONNECTION_LOST;
    return DisconnectReason.CLIENT_CLOSED;
  }

  /** An id of another instance's client; only a cluster adapter can have such clients. */
  private isRemoteClientId(clientId: string): boolean {
    if (this.adapter.distributed !== true) return false;
    const dot = clientId.indexOf('.');
    return dot > 0 && clientId.slice(0, dot) !== this.instanceId;
  }

  private publish(message: HubAdapterMessage): void {
    this.adapterCall(() => this.adapter.publish(message));
  }

  /** Like `adapterCall` for methods that may return a promise; the promise never rejects. */
  private adapterPromise(fn: () => void | Promise<void>): Promise<void> | undefined {
    try {
      const result = fn();
      if (result && typeof result.then === 'function') {
        return result.then(undefined, (err: Error) => {
          this.logger.warn(`adapter call failed: ${err?.message}`);
        });
      }
    } catch (err) {
      this.logger.warn(`adapter call failed: ${(err as Error).message}`);
    }
    return undefined;
  }

  /** Adapters must not throw into callers; this keeps a faulty one from breaking local delivery. */
  private adapterCall(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.warn(`adapter call failed: ${(err as Error).message}`);
    }
  }

  private assertCloseCode(code: number): void {
    if (!isValidCloseCode(code)) {
      throw new RangeError(`close code must be 1000 or within 3000-4999, got ${code}`);
    }
  }

  private assertRoom(room: string): void {
    if (!isValidRoom(room)) throw new RangeError(`room ${ROOM_RULE}`);
  }

  private assertRoomCapacity(client: HubClient): void {
    if ((client.rooms?.size ?? 0) >= this.options.maxRoomsPerClient) {
      throw new HubError(
        ErrorCode.FORBIDDEN,
        `at most ${this.options.maxRoomsPerClient} rooms per client`,
      );
    }
  }

  private async resolveHook<F>(
    option: F | Type<unknown> | undefined,
    method: string,
  ): Promise<F | undefined> {
    if (option === undefined) return undefined;
    const proto = (option as { prototype?: Record<string, unknown> }).prototype;
    if (proto && typeof proto[method] === 'function') {
      const type = option as Type<Record<string, F>>;
      let instance: Record<string, F>;
      try {
        instance = this.moduleRef.get(type, { strict: false });
      } catch {
        instance = await this.moduleRef.create(type);
      }
      return (instance[method] as unknown as (...args: unknown[]) => unknown).bind(instance) as F;
    }
    return option as F;
  }
}

export type { HubPrincipal };

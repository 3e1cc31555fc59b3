import { randomBytes } from 'node:crypto';
import { ClusterLink } from '../cluster/cluster-link.js';
import type { HubAdapter } from '../interfaces/cluster-adapter.interface.js';
import type { HubAuthenticateFn, HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { ClientEvent, CloseCode, ServerEvent } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import { AdapterHost } from './adapter-host.js';
import { ClientRegistry } from './client-registry.js';
import { Closer } from './closer.js';
import { Delivery } from './delivery.js';
import {
  HubFrameDispatcher,
  type HubDirectHandler,
  type HubFrameHandler,
} from './frame-dispatcher.js';
import { pingIfOpen } from './frame-writer.js';
import { HeartbeatScheduler } from './heartbeat.js';
import { kHubClient, type ConnectionInfo, type HubClient, type HubSocket } from './hub-client.js';
import { HubCounters } from './hub-counters.js';
import { HubStreams } from './hub-streams.js';
import { Registrar } from './registrar.js';
import { Rooms } from './rooms.js';
import type { HubRecoveryOptions } from '../interfaces/options.interface.js';
import type { RecoveryStore } from '../interfaces/recovery.interface.js';
import { WsHubOptionsError } from '../options/resolve-options.js';
import type { MemoryHistory } from '../recovery/memory-history.js';
import { MemoryRecoveryStore } from '../recovery/memory-store.js';
import { Recovery } from '../recovery/recovery.js';

/**
 * The hub's collaborators, wired by hand, and the side of the hub the gateway, the handshake
 * and the socket adapter talk to (each through its own narrow interface). `HubService` is the
 * public face over it.
 */
export class HubCore {
  /** Random id of this instance; every client id starts with it. */
  readonly instanceId = randomBytes(6).toString('base64url');
  readonly counters: HubCounters;
  readonly registry = new ClientRegistry();
  readonly streams = new HubStreams();
  readonly link: ClusterLink;
  readonly rooms: Rooms;
  readonly heartbeat: HeartbeatScheduler;
  readonly closer: Closer;
  readonly delivery: Delivery;
  readonly dispatcher: HubFrameDispatcher;
  readonly adapterHost: AdapterHost;
  private readonly registrar: Registrar;
  /** The resolved `authenticate` hook, read by the handshake. */
  authenticator: HubAuthenticateFn | undefined;
  /** Set when shutdown begins: new handshakes are refused, accepted sockets closed. */
  isShuttingDown = false;

  constructor(
    readonly options: ResolvedHubOptions,
    adapter: HubAdapter,
  ) {
    this.counters = new HubCounters(options.metrics ? options.metrics.errorCodes : []);
    this.link = new ClusterLink(adapter, this.instanceId);
    this.rooms = new Rooms(this.link, options.maxRoomsPerClient);
    this.heartbeat = new HeartbeatScheduler(
      options.pingIntervalMs,
      options.maxMissedPongs,
      (client) => pingIfOpen(client.socket),
      (client) => this.closer.evict(client),
    );
    this.closer = new Closer(
      this.counters,
      this.registry,
      this.rooms,
      this.heartbeat,
      this.link,
      this.streams,
    );
    this.delivery = new Delivery(
      this.counters,
      this.registry,
      this.rooms,
      this.closer,
      options.maxBufferedBytes,
      options.slowConsumer,
      options.coalesceWrites,
    );
    this.registrar = new Registrar(
      this.counters,
      this.instanceId,
      options,
      this.registry,
      this.heartbeat,
      this.delivery,
      this.link,
      this.streams,
    );
    this.dispatcher = new HubFrameDispatcher(options, this.counters, {
      deliverText: (client, text) => this.delivery.text(client, text),
      closeClient: (client, code, reason, why) => this.closer.close(client, code, reason, why),
    });
    this.adapterHost = new AdapterHost(
      this.instanceId,
      this.registry,
      this.delivery,
      this.closer,
      this.streams,
    );
    if (options.recovery) this.recovery = this.createRecovery(adapter, options.recovery);
  }

  /** Message recovery, when the `recovery` option is on. */
  readonly recovery: Recovery | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;

  /** Stops recovery's timers and its store (at shutdown). */
  async closeRecovery(): Promise<void> {
    clearInterval(this.sessionTimer);
    await this.recovery?.close();
  }

  private createRecovery(adapter: HubAdapter, o: Required<HubRecoveryOptions>): Recovery {
    let store: RecoveryStore;
    let history: MemoryHistory | undefined;
    let memory: MemoryRecoveryStore | undefined;
    if (adapter.recoveryStore) {
      store = adapter.recoveryStore(o);
      // Sessions resume on any instance, keeping their first instance's id prefix.
      this.link.idsMove = true;
    } else if (adapter.distributed) {
      throw new WsHubOptionsError(
        'recovery',
        `needs an adapter that keeps history; ${adapter.constructor?.name ?? 'this adapter'} does not`,
      );
    } else {
      memory = new MemoryRecoveryStore(o.historySize, o.historyTtlMs, o.sessionTtlMs);
      store = memory;
      history = memory.history;
    }
    const recovery = new Recovery(
      store,
      history,
      memory,
      this.registry,
      this.rooms,
      this.delivery,
      this.closer,
      this.registrar,
      this.link,
      this.streams,
    );
    this.registrar.onRegistered = (client) => recovery.added(client);
    this.registrar.onRecoveringClient = (client) => recovery.attach(client);
    this.closer.onRemoved = (client) => recovery.removed(client);
    // Sessions of connected clients must outlive a crash of this instance by sessionTtlMs only.
    this.sessionTimer = setInterval(
      () => recovery.touchSessions(),
      Math.max(1_000, o.sessionTtlMs / 3),
    );
    this.sessionTimer.unref();
    this.adapterHost.recovery = recovery;
    this.dispatcher.coreHandlers.set(ClientEvent.RECOVER, (client, data, _event, id) =>
      recovery.recover(client, data, id),
    );
    return recovery;
  }

  set authorizeJoin(fn: HubAuthorizeJoinFn | undefined) {
    this.rooms.authorizeJoin = fn;
  }

  /** Clients connected to this instance. */
  get online(): number {
    return this.registry.size;
  }

  /** Registers a socket the gateway accepted; undefined once shutdown has begun. */
  register(socket: HubSocket, info: ConnectionInfo): HubClient | undefined {
    if (this.isShuttingDown) {
      socket.close(CloseCode.GOING_AWAY, 'server shutting down');
      return undefined;
    }
    return this.registrar.register(socket, info);
  }

  /** Unregisters a socket after its close event. */
  unregister(socket: HubSocket, code: number | undefined): void {
    const client = socket[kHubClient];
    if (client) this.closer.closed(client, code);
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
    client: HubClient,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void {
    this.dispatcher.handleFrame(client, raw, isBinary, handlers);
  }

  /** Lets the gateway's handlers be called without Nest's pipeline (see the gateway). */
  useDirectHandlers(handlers: Map<string, HubDirectHandler> | undefined): void {
    this.dispatcher.directHandlers = handlers;
  }

  /**
   * The built-in echo on the fast path: `messages$`, then the ack encoded and written here.
   * Returns undefined, or (data JSON cannot encode back) the reply for the dispatcher to answer.
   */
  ack(client: HubClient, data: unknown, id: string | number | undefined): unknown {
    this.emitMessage(client, ClientEvent.MESSAGE, data, id);
    let text: string;
    try {
      text = encodeFrame(ServerEvent.ACK, data, id);
    } catch {
      return { event: ServerEvent.ACK, data };
    }
    this.delivery.text(client, text);
    return undefined;
  }

  /** Publishes a received `message` event on `messages$`. */
  emitMessage(client: HubClient, event: string, data: unknown, id: string | number | undefined) {
    if (this.streams.message.observed) {
      this.streams.message.next({ clientId: client.id, userId: client.userId, event, data, id });
    }
  }
}

import type { ClusterLink } from '../cluster/cluster-link.js';
import { PendingSubscriptions } from '../cluster/pending-subscriptions.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { formatClientId } from '../protocol/client-id.js';
import { PROTOCOL_VERSION, ServerEvent } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import type { ClientRegistry } from './client-registry.js';
import type { Delivery } from './delivery.js';
import { frameSenderOf } from './frame-writer.js';
import { randomId } from './random-id.js';
import { markAlive, type HeartbeatScheduler } from './heartbeat.js';
import { HubClient, kHubClient, type ConnectionInfo, type HubSocket } from './hub-client.js';
import type { HubCounters } from './hub-counters.js';
import type { HubStreams } from './hub-streams.js';

/** Turns an accepted socket into a registered client: id, indexes, heartbeat, welcome. */
export class Registrar {
  constructor(
    private readonly counters: HubCounters,
    private readonly instanceId: string,
    private readonly options: ResolvedHubOptions,
    private readonly registry: ClientRegistry,
    private readonly heartbeat: HeartbeatScheduler,
    private readonly delivery: Delivery,
    private readonly link: ClusterLink,
    private readonly streams: HubStreams,
  ) {}

  register(socket: HubSocket, info: ConnectionInfo): HubClient {
    const client = new HubClient(
      formatClientId(this.instanceId, randomId()),
      socket,
      Date.now(),
      info.ip,
      info.principal,
    );
    socket[kHubClient] = client;
    this.counters.connectionsOpened++;
    client.frameSender = frameSenderOf(socket);
    const userId = client.userId;
    if (this.registry.add(client)) this.pendingUsers.track(userId!, this.link.userAdded(userId!));
    if (this.options.rateLimit) {
      client.tokens = this.options.rateLimit.burst;
      client.lastRefillMs = performance.now();
    }
    socket.on('pong', markAlive);
    this.heartbeat.add(client);
    this.onRegistered?.(client);
    // A client that negotiated recovery gets its welcome (and counts as connected) once its
    // `recover` frame has been handled: its id may still change to a resumed session's.
    if (this.onRecoveringClient !== undefined && info.recovery) {
      this.onRecoveringClient(client);
      return client;
    }
    if (this.options.welcome) this.delivery.text(client, this.welcomeFrame(client));
    this.announce(client);
    return client;
  }

  /** Set when recovery is on: told of every registered client. */
  onRegistered: ((client: HubClient) => void) | undefined;

  /** Set when recovery is on: takes over clients that negotiated it. */
  onRecoveringClient: ((client: HubClient) => void) | undefined;

  /** Users whose cross-instance subscription the adapter has not confirmed yet. */
  private readonly pendingUsers = new PendingSubscriptions();

  /** Settles once messages for `userId` published elsewhere reach this instance. */
  userReady(userId: string | undefined): Promise<void> | undefined {
    return userId === undefined ? undefined : this.pendingUsers.get(userId);
  }

  /** Emits `connected$` for a registered client. */
  announce(client: HubClient): void {
    this.streams.connected.next({
      clientId: client.id,
      userId: client.userId,
      principal: client.principal,
      remoteAddress: client.remoteAddress,
      connectedAt: client.connectedAt,
    });
  }

  welcomeFrame(client: HubClient, extra?: Record<string, unknown>, id?: string | number): string {
    const data: Record<string, unknown> = {
      clientId: client.id,
      pingIntervalMs: this.options.pingIntervalMs,
      protocol: PROTOCOL_VERSION,
      maxPayloadBytes: this.options.maxPayloadBytes,
    };
    if (client.userId !== undefined) data.userId = client.userId;
    return encodeFrame(ServerEvent.WELCOME, extra ? { ...data, ...extra } : data, id);
  }
}

import type { ClusterLink } from '../cluster/cluster-link.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { formatClientId } from '../protocol/client-id.js';
import { randomId } from '../util/random.js';
import type { ClientRegistry } from './client-registry.js';
import type { Delivery } from './delivery.js';
import type { DeliveryStrategy } from './delivery-strategy.js';
import { frameSenderOf } from './frame-writer.js';
import { markAlive, type HeartbeatScheduler } from './heartbeat.js';
import { Connection, kConnection, type ConnectionInfo, type HubSocket } from './connection.js';
import type { HubCounters } from './hub-counters.js';
import type { Welcomer } from './welcomer.js';

/** Turns an accepted socket into a registered client: id, indexes, heartbeat, welcome. */
export class Registrar {
  constructor(
    private readonly counters: HubCounters,
    private readonly instanceId: string,
    private readonly options: Pick<ResolvedHubOptions, 'rateLimit'>,
    private readonly registry: ClientRegistry,
    private readonly heartbeat: HeartbeatScheduler,
    private readonly delivery: Delivery,
    private readonly link: ClusterLink,
    private readonly welcomer: Welcomer,
    private readonly strategy: DeliveryStrategy,
  ) {}

  register(socket: HubSocket, info: ConnectionInfo): Connection {
    const client = new Connection(
      formatClientId(this.instanceId, randomId()),
      socket,
      Date.now(),
      info.ip,
      info.principal,
    );
    socket[kConnection] = client;
    this.counters.connectionsOpened++;
    client.frameSender = frameSenderOf(socket);
    const userId = client.userId;
    if (this.registry.add(client)) this.link.userAdded(userId!);
    // `send`/`disconnect` for this id reach this instance (adapters that route by client).
    this.link.clientAdded(client.id);
    if (this.options.rateLimit) {
      client.tokens = this.options.rateLimit.burst;
      client.lastRefillMs = performance.now();
    }
    socket.on('pong', markAlive);
    this.heartbeat.add(client);
    // A recovering client gets its welcome (and counts as connected) once its `recover` frame
    // has been answered: its id may still change to a resumed session's.
    if (!this.strategy.admit(client, info)) return client;
    if (this.welcomer.enabled) this.delivery.text(client, this.welcomer.frame(client));
    this.welcomer.announce(client);
    return client;
  }
}

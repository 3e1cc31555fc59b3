import { ClusterLink } from '../../src/ws-hub/cluster/cluster-link.js';
import { AdapterHost } from '../../src/ws-hub/core/adapter-host.js';
import { ClientRegistry } from '../../src/ws-hub/core/client-registry.js';
import { Closer } from '../../src/ws-hub/core/closer.js';
import { Connection, type HubSocket } from '../../src/ws-hub/core/connection.js';
import { Delivery } from '../../src/ws-hub/core/delivery.js';
import { Drainer } from '../../src/ws-hub/core/drainer.js';
import { pingIfOpen } from '../../src/ws-hub/core/frame-writer.js';
import { HeartbeatScheduler } from '../../src/ws-hub/core/heartbeat.js';
import { HubCounters } from '../../src/ws-hub/core/hub-counters.js';
import { HubEvents } from '../../src/ws-hub/core/hub-events.js';
import { PlainDelivery } from '../../src/ws-hub/core/plain-delivery.js';
import { Registrar } from '../../src/ws-hub/core/registrar.js';
import { Rooms } from '../../src/ws-hub/core/rooms.js';
import { TokenExpiry } from '../../src/ws-hub/core/token-expiry.js';
import { Welcomer } from '../../src/ws-hub/core/welcomer.js';
import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
} from '../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import type {
  HubPrincipal,
  WsHubModuleOptions,
} from '../../src/ws-hub/interfaces/options.interface.js';
import {
  resolveHubOptions,
  type ResolvedHubOptions,
} from '../../src/ws-hub/options/resolve-options.js';
import { CloseCode, DisconnectReason } from '../../src/ws-hub/protocol/constants.js';

/** A cluster adapter that records what the core tells it, in order. */
export class RecordingAdapter implements HubAdapter {
  /** Subscription changes, as `roomAdded r`, `userRemoved u`, `clientAdded id`... */
  readonly calls: string[] = [];
  readonly published: HubAdapterMessage[] = [];
  host: HubAdapterHost | undefined;

  constructor(readonly distributed = false) {}

  init(host: HubAdapterHost): void {
    this.host = host;
  }
  publish(message: HubAdapterMessage): void {
    this.published.push(message);
  }
  roomAdded(room: string): void {
    this.calls.push(`roomAdded ${room}`);
  }
  roomRemoved(room: string): void {
    this.calls.push(`roomRemoved ${room}`);
  }
  userAdded(userId: string): void {
    this.calls.push(`userAdded ${userId}`);
  }
  userRemoved(userId: string): void {
    this.calls.push(`userRemoved ${userId}`);
  }
  clientAdded(clientId: string): void {
    this.calls.push(`clientAdded ${clientId}`);
  }
  clientRemoved(clientId: string): void {
    this.calls.push(`clientRemoved ${clientId}`);
  }
  async clusterOnline(): Promise<number> {
    return this.host?.localOnline ?? 0;
  }
  async instances(): Promise<HubInstanceInfo[]> {
    return [];
  }
  async close(): Promise<void> {}
}

/** The core collaborators of a plain hub (no recovery), wired as `module/compose-hub.ts` does. */
export interface CoreParts {
  options: ResolvedHubOptions;
  instanceId: string;
  adapter: RecordingAdapter;
  counters: HubCounters;
  registry: ClientRegistry;
  events: HubEvents;
  link: ClusterLink;
  rooms: Rooms;
  heartbeat: HeartbeatScheduler;
  expiry: TokenExpiry;
  closer: Closer;
  delivery: Delivery;
  welcomer: Welcomer;
  strategy: PlainDelivery;
  registrar: Registrar;
  adapterHost: AdapterHost;
  drainer: Drainer;
  /** Stops every timer the parts may hold (heartbeat, grace timers, token expiry, drain). */
  dispose(): void;
}

export const TEST_INSTANCE_ID = 'inst1';

/** Builds the parts by hand, with the real collaborators; `options` as the module takes them. */
export function buildCore(
  options: WsHubModuleOptions = {},
  adapter = new RecordingAdapter(),
): CoreParts {
  const resolved = resolveHubOptions(options);
  const instanceId = TEST_INSTANCE_ID;
  const counters = new HubCounters();
  const registry = new ClientRegistry();
  const events = new HubEvents();
  const link = new ClusterLink(adapter, instanceId);
  const rooms = new Rooms(link, resolved.maxRoomsPerClient);
  const heartbeat = new HeartbeatScheduler(
    resolved.pingIntervalMs,
    resolved.maxMissedPongs,
    (client) => pingIfOpen(client.socket),
    (client) => closer.evict(client),
  );
  const expiry = new TokenExpiry(
    resolved.tokenRefreshBeforeMs,
    (client, text) => delivery.text(client, text),
    (client) =>
      closer.close(
        client,
        CloseCode.TOKEN_EXPIRED,
        'token expired',
        DisconnectReason.TOKEN_EXPIRED,
      ),
  );
  const closer = new Closer(counters, registry, rooms, heartbeat, link, events, expiry);
  const delivery = new Delivery(
    counters,
    registry,
    rooms,
    closer,
    resolved.maxBufferedBytes,
    resolved.slowConsumer,
    resolved.coalesceWrites,
  );
  const welcomer = new Welcomer(resolved, events, expiry);
  const strategy = new PlainDelivery(registry, delivery, link);
  const registrar = new Registrar(
    counters,
    instanceId,
    resolved,
    registry,
    heartbeat,
    delivery,
    link,
    welcomer,
    strategy,
  );
  const adapterHost = new AdapterHost(instanceId, registry, closer, strategy, events);
  const drainer = new Drainer(registry, closer);
  void link.init(adapterHost);
  return {
    options: resolved,
    instanceId,
    adapter,
    counters,
    registry,
    events,
    link,
    rooms,
    heartbeat,
    expiry,
    closer,
    delivery,
    welcomer,
    strategy,
    registrar,
    adapterHost,
    drainer,
    dispose() {
      drainer.dispose();
      heartbeat.stop();
      closer.dispose();
      expiry.clear();
      events.complete();
    },
  };
}

let serial = 0;

/**
 * A registry entry over a stand-in socket, for tests about bookkeeping only (nothing is
 * written): `userId` (or a whole `principal`) and `ip` as the handshake would have set them.
 */
export function fakeConnection(
  options: {
    id?: string;
    userId?: string;
    principal?: HubPrincipal;
    ip?: string;
    socket?: Partial<HubSocket>;
  } = {},
): Connection {
  const socket = {
    readyState: 1,
    bufferedAmount: 0,
    on: () => socket,
    off: () => socket,
    once: () => socket,
    ...options.socket,
  } as unknown as HubSocket;
  return new Connection(
    options.id ?? `${TEST_INSTANCE_ID}.c${++serial}`,
    socket,
    0,
    options.ip,
    options.principal ?? (options.userId === undefined ? undefined : { userId: options.userId }),
  );
}

import { afterAll, afterEach, beforeAll } from 'vitest';
import type { HubCore } from '../../src/ws-hub/core/hub-core.js';
import { Connection, type HubSocket } from '../../src/ws-hub/core/connection.js';
import type { PlainDelivery } from '../../src/ws-hub/core/plain-delivery.js';
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
import { composeHub } from '../../src/ws-hub/module/compose-hub.js';
import { startWsPairs, type WsPair, type WsPairs } from './ws-pairs.js';
import { resolveHubOptions } from '../../src/ws-hub/options/resolve-options.js';

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

/**
 * The core collaborators of a plain hub (no recovery), as the composition root
 * (`module/compose-hub.ts`) wires them: the tests take them from the hub it builds.
 */
export type CoreParts = Pick<
  HubCore,
  | 'options'
  | 'instanceId'
  | 'counters'
  | 'registry'
  | 'events'
  | 'link'
  | 'rooms'
  | 'heartbeat'
  | 'expiry'
  | 'closer'
  | 'delivery'
  | 'registrar'
  | 'adapterHost'
  | 'drainer'
> & {
  adapter: RecordingAdapter;
  strategy: PlainDelivery;
  /** Stops every timer the parts may hold (heartbeat, grace timers, token expiry, drain). */
  dispose(): void;
};

/** The hub's parts, built by `composeHub`; `options` as the module takes them. */
export function buildCore(
  options: WsHubModuleOptions = {},
  adapter = new RecordingAdapter(),
): CoreParts {
  const core = composeHub(resolveHubOptions(options), adapter);
  void core.link.init(core.adapterHost);
  return {
    options: core.options,
    instanceId: core.instanceId,
    adapter,
    counters: core.counters,
    registry: core.registry,
    events: core.events,
    link: core.link,
    rooms: core.rooms,
    heartbeat: core.heartbeat,
    expiry: core.expiry,
    closer: core.closer,
    delivery: core.delivery,
    strategy: core.strategy as PlainDelivery,
    registrar: core.registrar,
    adapterHost: core.adapterHost,
    drainer: core.drainer,
    dispose() {
      core.drainer.dispose();
      core.heartbeat.stop();
      core.closer.dispose();
      core.expiry.clear();
      core.events.complete();
    },
  };
}

/** The instance id of fake connections' ids. */
const FAKE_INSTANCE_ID = 'inst1';

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
    options.id ?? `${FAKE_INSTANCE_ID}.c${++serial}`,
    socket,
    0,
    options.ip,
    options.principal ?? (options.userId === undefined ? undefined : { userId: options.userId }),
  );
}

/** A registered client and both ends of its socket. */
export interface Peer {
  client: Connection;
  pair: WsPair;
}

/** Connects and registers one client per entry of `users` (its user id, or none). */
export async function connectPeers(
  core: CoreParts,
  pairs: WsPairs,
  users: readonly (string | undefined)[],
): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (const userId of users) {
    const pair = await pairs.connect();
    const principal = userId === undefined ? undefined : { userId };
    peers.push({
      pair,
      client: core.registrar.register(pair.server, { ip: undefined, principal }),
    });
  }
  return peers;
}

/**
 * For a spec file of the core: real `ws` pairs on 127.0.0.1 for its tests (`pairs`), and
 * `build()` for each test's hub parts, disposed with the test's sockets after it.
 */
export function useCoreParts(): {
  readonly pairs: WsPairs;
  build(options?: WsHubModuleOptions, adapter?: RecordingAdapter): CoreParts;
} {
  let pairs: WsPairs | undefined;
  let current: CoreParts | undefined;
  beforeAll(async () => {
    pairs = await startWsPairs();
  });
  afterAll(() => pairs?.close());
  afterEach(() => {
    current?.dispose();
    current = undefined;
    pairs?.closeAll();
  });
  return {
    get pairs() {
      return pairs!;
    },
    build(options = {}, adapter = new RecordingAdapter()) {
      return (current = buildCore(options, adapter));
    },
  };
}

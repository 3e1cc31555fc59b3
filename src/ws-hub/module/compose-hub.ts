import { ClusterLink } from '../cluster/cluster-link.js';
import { AdapterHost } from '../core/adapter-host.js';
import { ClientRegistry } from '../core/client-registry.js';
import { Closer } from '../core/closer.js';
import { Delivery } from '../core/delivery.js';
import { Drainer } from '../core/drainer.js';
import type { DeliveryStrategy } from '../core/delivery-strategy.js';
import { HubFrameDispatcher } from '../core/frame-dispatcher.js';
import { pingIfOpen } from '../core/frame-writer.js';
import { HeartbeatScheduler } from '../core/heartbeat.js';
import { HubCore } from '../core/hub-core.js';
import { HubCounters } from '../core/hub-counters.js';
import { HubEvents } from '../core/hub-events.js';
import { PlainDelivery } from '../core/plain-delivery.js';
import { Registrar } from '../core/registrar.js';
import { Rooms } from '../core/rooms.js';
import { TokenExpiry } from '../core/token-expiry.js';
import { Welcomer } from '../core/welcomer.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import type { HubAdapter } from '../interfaces/cluster-adapter.interface.js';
import { WsHubOptionsError } from '../options/options.error.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { LocalHistoryDelivery } from '../recovery/local-history-delivery.js';
import { MemoryRecoveryStore } from '../recovery/memory-store.js';
import { RecordedDelivery } from '../recovery/recorded-delivery.js';
import type { RecoveryDeps } from '../recovery/recovering-delivery.js';
import { StreamMonitor } from '../recovery/stream-monitor.js';
import { newInstanceId } from '../util/random.js';

/**
 * The composition root: the whole object graph of one hub, built here and nowhere else, each
 * collaborator given what it needs in its constructor. The delivery strategy is chosen here,
 * once: plain; recovery on this instance (history in memory); or recovery recorded through the
 * cluster adapter (history in its store). Nothing else asks which one it is.
 */
export function composeHub(options: ResolvedHubOptions, adapter: HubAdapter): HubCore {
  const recovery = options.recovery;
  const recorded = recovery !== false && typeof adapter.recoveryStore === 'function';
  if (recovery && !recorded && adapter.distributed) {
    throw new WsHubOptionsError(
      'recovery',
      `needs an adapter that keeps history; ${adapter.constructor?.name ?? 'this adapter'} does not`,
    );
  }
  const instanceId = newInstanceId();
  const counters = new HubCounters(options.metrics ? options.metrics.errorCodes : []);
  const registry = new ClientRegistry();
  const events = new HubEvents();
  // With recovery recorded through the cluster, the continuity of the streams as they arrive
  // is watched (and forgotten for a stream whose channel this instance leaves), and a resumed
  // session keeps its first instance's id prefix wherever it is.
  const monitor = recorded ? new StreamMonitor() : undefined;
  const link = new ClusterLink(adapter, instanceId, recorded, monitor);
  const rooms = new Rooms(link, options.maxRoomsPerClient);
  const heartbeat = new HeartbeatScheduler(
    options.pingIntervalMs,
    options.maxMissedPongs,
    (client) => pingIfOpen(client.socket),
    (client) => closer.evict(client),
  );
  const expiry = new TokenExpiry(
    options.tokenRefreshBeforeMs,
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
    options.maxBufferedBytes,
    options.slowConsumer,
    options.coalesceWrites,
  );
  const welcomer = new Welcomer(options, events, expiry);
  let strategy: DeliveryStrategy;
  if (!recovery) {
    strategy = new PlainDelivery(registry, delivery, link);
  } else {
    const deps = (store: RecoveryDeps['store']): RecoveryDeps => ({
      options: recovery,
      maxRoomsPerClient: options.maxRoomsPerClient,
      store,
      counters,
      registry,
      rooms,
      delivery,
      closer,
      welcomer,
      link,
    });
    if (recorded) {
      const store = adapter.recoveryStore!(recovery);
      const renewEpoch = store.renewEpoch?.bind(store);
      strategy = new RecordedDelivery(deps(store), monitor!, renewEpoch && { renewEpoch });
    } else {
      const memory = new MemoryRecoveryStore(
        recovery.historySize,
        recovery.historyTtlMs,
        recovery.sessionTtlMs,
      );
      strategy = new LocalHistoryDelivery(deps(memory), memory);
    }
  }
  const registrar = new Registrar(
    counters,
    instanceId,
    options,
    registry,
    heartbeat,
    delivery,
    link,
    welcomer,
    strategy,
  );
  const dispatcher = new HubFrameDispatcher(
    options,
    counters,
    {
      deliverText: (client, text) => delivery.text(client, text),
      closeClient: (client, code, reason, why) => closer.close(client, code, reason, why),
    },
    strategy.routes,
  );
  const adapterHost = new AdapterHost(instanceId, registry, closer, strategy, events);
  return new HubCore({
    options,
    instanceId,
    counters,
    registry,
    events,
    link,
    rooms,
    heartbeat,
    closer,
    drainer: new Drainer(registry, closer),
    delivery,
    strategy,
    registrar,
    dispatcher,
    adapterHost,
    expiry,
  });
}

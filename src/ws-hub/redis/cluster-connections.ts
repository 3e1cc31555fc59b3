import type { Cluster, ClusterOptions } from 'ioredis';
import { loadOptionalPeer } from '../util/optional-peer.js';
import type { ConnectionEvents } from './connections.js';
import type { ResolvedRedisOptions } from './options.js';
import { ReadyWaiters } from './ready-waiters.js';

/** The ioredis `Cluster` class, loaded on first use (ioredis is an optional peer). */
export type ClusterClass = typeof Cluster;

export async function loadClusterClass(): Promise<ClusterClass> {
  const ioredis = await loadOptionalPeer<typeof import('ioredis')>(
    'ioredis',
    "the Redis adapter's cluster mode",
  );
  return ioredis.Cluster;
}

/**
 * The subscriber side in cluster mode: one `SSUBSCRIBE`/`SUNSUBSCRIBE` per channel (a channel
 * is its own slot group, so no command ever spans slots), on the per-shard connections ioredis
 * keeps with `shardedSubscribers: true` (it re-subscribes them itself after a failover or a
 * reshard). `ping()` resolves once every (un)subscribe sent so far is answered.
 */
export class ShardedSubscriber {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly cluster: Cluster) {}

  get status(): string {
    return this.cluster.status;
  }

  subscribe(...channels: string[]): Promise<unknown> {
    return Promise.all(channels.map((c) => this.track(this.cluster.ssubscribe(c))));
  }

  unsubscribe(...channels: string[]): Promise<unknown> {
    return Promise.all(channels.map((c) => this.track(this.cluster.sunsubscribe(c))));
  }

  async ping(): Promise<string> {
    await Promise.allSettled(this.inFlight);
    return 'PONG';
  }

  private track(p: Promise<unknown>): Promise<unknown> {
    this.inFlight.add(p);
    const done = (): void => {
      this.inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }
}

/**
 * Cluster mode's connections: one ioredis `Cluster` (created here from `cluster.nodes`, or the
 * user's, never closed then) runs every command (EVAL routed by its first key, SPUBLISH by its
 * channel) and, through its per-shard subscriber connections, the subscriptions. The adapter
 * sees the publisher and subscriber roles of `RedisConnections`, both ready with the cluster.
 */
export class ClusterConnections {
  pub: Cluster | undefined;
  sub: ShardedSubscriber | undefined;
  /** Times the cluster came back after having been ready once. */
  reconnects = 0;
  private owns = false;
  private stopped = false;
  private everReady = false;
  private readonly readyWaiters = new ReadyWaiters();
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly options: ResolvedRedisOptions,
    private readonly events: ConnectionEvents,
  ) {}

  open(instanceId: string, ClusterCtor?: ClusterClass): { pub: Cluster; sub: ShardedSubscriber } {
    const o = this.options;
    let cluster: Cluster;
    if (o.clusterClient) {
      cluster = o.clusterClient;
      if (cluster.status === 'wait') cluster.connect().catch(() => undefined);
    } else {
      if (!ClusterCtor) throw new Error('ClusterConnections.open: the Cluster class is needed');
      const extra: ClusterOptions = o.cluster!.clusterOptions ?? {};
      cluster = new ClusterCtor(o.cluster!.nodes, {
        ...extra,
        // Fail fast instead of queueing while the cluster is down (as in single-Redis mode).
        enableOfflineQueue: false,
        // Never auto-pipeline (un)subscribes: a pipeline runs on a node's command connection.
        autoPipeliningIgnoredCommands: [
          ...(extra.autoPipeliningIgnoredCommands ?? []),
          'ssubscribe',
          'sunsubscribe',
        ],
        shardedSubscribers: true,
        clusterRetryStrategy: (times: number) =>
          Math.min(50 * 2 ** Math.min(times - 1, 16), o.reconnectMaxDelayMs) +
          Math.floor(Math.random() * 100),
        redisOptions: {
          connectionName: `ws-hub-${instanceId}`,
          disconnectTimeout: 200,
          ...extra.redisOptions,
        },
      });
      this.owns = true;
    }
    this.pub = cluster;
    this.sub = new ShardedSubscriber(cluster);
    this.watch(cluster);
    return { pub: cluster, sub: this.sub };
  }

  bothReady(): boolean {
    return this.pub?.status === 'ready';
  }

  waitForReady(timeoutMs: number): Promise<boolean> {
    return this.readyWaiters.wait(() => this.bothReady(), timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    this.readyWaiters.release();
  }

  /** Detaches; closes an own cluster, or unsubscribes `channels` from the user's. */
  async close(channels: readonly string[] = []): Promise<void> {
    this.stop();
    for (const off of this.detach.splice(0)) off();
    const cluster = this.pub;
    if (!cluster) return;
    if (!this.owns) {
      if (cluster.status === 'ready') {
        await Promise.allSettled(channels.map((c) => cluster.sunsubscribe(c)));
      }
      return;
    }
    cluster.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      cluster.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
      cluster.disconnect();
    });
  }

  private watch(cluster: Cluster): void {
    const onReady = (): void => this.onReady();
    const onError = (err: Error): void => this.events.failure('cluster connection', err);
    const onClose = (): void => this.events.failure('cluster connection', 'connection closed');
    const onMessage = (channel: string, payload: string): void =>
      this.events.message(channel, payload);
    cluster.on('ready', onReady);
    cluster.on('error', onError);
    cluster.on('close', onClose);
    cluster.on('smessage', onMessage);
    this.detach.push(() => {
      cluster.off('ready', onReady);
      cluster.off('error', onError);
      cluster.off('close', onClose);
      cluster.off('smessage', onMessage);
    });
  }

  private onReady(): void {
    if (this.stopped) return;
    if (this.everReady) this.reconnects++;
    this.everReady = true;
    this.events.ready('publisher');
    this.events.ready('subscriber');
    this.readyWaiters.release();
  }
}

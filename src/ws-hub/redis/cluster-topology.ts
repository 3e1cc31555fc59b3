import type { Cluster, ClusterOptions } from 'ioredis';
import { ReadyWaiters } from '../cluster/ready-waiters.js';
import { ReorderingFilter, type MessageFilter } from '../cluster/sequence-filter.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { newInstanceId } from '../util/random.js';
import { ChannelNames } from './channels.js';
import type { ResolvedRedisOptions } from './options.js';
import { PlainPublisher } from './plain-publisher.js';
import { presenceKeys, type PresenceKeys } from './presence.js';
import {
  reconnectDelay,
  type ConnectionEvents,
  type RedisLinks,
  type RedisTopology,
} from './topology.js';

/** The ioredis `Cluster` class, loaded on first use (ioredis is an optional peer). */
async function loadRedisClusterClass(): Promise<typeof Cluster> {
  const ioredis = await loadOptionalPeer<typeof import('ioredis')>(
    'ioredis',
    "the Redis adapter's Redis Cluster topology",
  );
  return ioredis.Cluster;
}

/**
 * The subscriber side on a Redis Cluster: one `SSUBSCRIBE`/`SUNSUBSCRIBE` per channel (a channel
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
 * A Redis Cluster (README, "Redis Cluster"): one ioredis `Cluster` (created here from
 * `cluster.nodes`, or the user's, never closed then) runs every command (EVAL routed by its
 * first key, SPUBLISH by its channel) and, through its per-shard subscriber connections, the
 * subscriptions (sharded pub/sub). Every channel and key is hash-tagged (each channel is its own
 * slot group). The adapter sees the publisher and subscriber roles of `SingleTopology`, both
 * ready with the cluster.
 */
export class ClusterTopology implements RedisTopology {
  readonly layout = 'cluster=on';
  /** A shard's failover fails some commands while others succeed: one outage, not a flapping one. */
  readonly outageQuietMs: number;
  private pub: Cluster | undefined;
  private sub: ShardedSubscriber | undefined;
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
  ) {
    this.outageQuietMs = options.heartbeatIntervalMs;
  }

  /** Every channel hash-tagged: each is its own slot group. */
  channelNames(prefix: string, streams: boolean): ChannelNames {
    return new ChannelNames(prefix, streams, true);
  }

  /** The presence keys share one hash tag: the scripts touch one slot. */
  presenceKeys(prefix: string): PresenceKeys {
    return presenceKeys(prefix, true);
  }

  /** One origin's messages come from several shards, in any order. */
  messageFilter(): MessageFilter {
    return new ReorderingFilter();
  }

  /** One SPUBLISH per channel, each routed to its channel's shard. */
  plainPublisher(
    onFailed: (what: string, err: unknown) => void,
    redactText: (err: unknown) => string,
  ): PlainPublisher {
    return new PlainPublisher(onFailed, redactText, true);
  }

  /** One script per stream (each its own slot group); the copies share a message id. */
  recordedCopies(): { idPrefix: string } {
    return { idPrefix: newInstanceId() + ':' };
  }

  async open(instanceId: string): Promise<RedisLinks | undefined> {
    const o = this.options;
    const ClusterCtor = o.clusterClient ? undefined : await loadRedisClusterClass();
    if (this.stopped) return undefined;
    let cluster: Cluster;
    if (o.clusterClient) {
      cluster = o.clusterClient;
      if (cluster.status === 'wait') cluster.connect().catch(() => undefined);
    } else {
      if (!ClusterCtor) throw new Error('ClusterTopology.open: the Cluster class is needed');
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
        clusterRetryStrategy: (times: number) => reconnectDelay(times, o.reconnectMaxDelayMs),
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
    const onMessage = (channel: string, payload: string): void => {
      // A given Cluster client may carry the app's own shard channels too.
      if (this.events.wanted(channel)) this.events.message(channel, payload);
    };
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

import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { readPositiveInt } from '../options/validators.js';

/**
 * Options of `RedisHubAdapter`: the module's `redis` block (documented on `HubRedisOptions`),
 * with the ioredis types filled in.
 */
export interface RedisHubAdapterOptions extends Omit<
  HubRedisOptions,
  'client' | 'redisOptions' | 'cluster'
> {
  /**
   * An existing ioredis client. The adapter publishes and runs its presence commands with it
   * (it never closes it) and duplicates it once for its subscriber connection. A `Cluster`
   * client (created with `shardedSubscribers: true`) switches to Redis Cluster (`ClusterTopology`): the adapter then
   * uses it for everything, subscribing included, and never closes it.
   */
  client?: Redis | Cluster;
  /** Redis Cluster: the adapter creates its own ioredis `Cluster` (README, "Redis Cluster"). */
  cluster?: RedisClusterOptions;
  /** Extra ioredis options for the connections created from `url` (TLS, username, ...). */
  redisOptions?: RedisOptions;
}

/** Redis Cluster with a `Cluster` client the adapter creates (sharded pub/sub, Redis 7). */
export interface RedisClusterOptions {
  /** Startup nodes; any few nodes of the cluster will do. */
  nodes: { host: string; port: number }[];
  /** Extra ioredis `Cluster` options (`shardedSubscribers` is always on). */
  clusterOptions?: ClusterOptions;
}

/** Defaults of the adapter's options (the README and `HubRedisOptions` document them). */
export const REDIS_DEFAULTS = {
  keyPrefix: 'ws-hub',
  heartbeatIntervalMs: 2_000,
  instanceTimeoutMs: 6_000,
  initTimeoutMs: 5_000,
  commandTimeoutMs: 1_000,
  reconnectMaxDelayMs: 1_000,
} as const;

/** Validated options with every default applied; exactly one of `client` and `url` is set. */
export interface ResolvedRedisOptions {
  client: Redis | undefined;
  /** Redis Cluster: the startup nodes, or the given `Cluster` client (`client` is then unset). */
  cluster?: RedisClusterOptions;
  clusterClient?: Cluster;
  url: string | undefined;
  redisOptions: RedisOptions | undefined;
  keyPrefix: string;
  heartbeatIntervalMs: number;
  instanceTimeoutMs: number;
  initTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
}

function invalid(problem: string): never {
  throw new TypeError(`RedisHubAdapter: ${problem}`);
}

function ms(name: string, value: unknown, fallback: number): number {
  return readPositiveInt(value, fallback, 'ms', (problem) => invalid(`"${name}" ${problem}`));
}

/** Validates the adapter's options and fills in defaults; throws a `TypeError` naming the option. */
export function resolveRedisOptions(
  options: RedisHubAdapterOptions | HubRedisOptions,
): ResolvedRedisOptions {
  const o = options as RedisHubAdapterOptions;
  if (!o || typeof o !== 'object') invalid('options are required');
  let clusterClient: Cluster | undefined;
  if (o.client !== undefined) {
    const c = o.client as Partial<Redis> | null;
    if (!c || typeof c.duplicate !== 'function' || typeof c.publish !== 'function') {
      invalid('"client" must be an ioredis client');
    }
    if ((c as { isCluster?: boolean }).isCluster) {
      // Redis Cluster needs sharded pub/sub, which ioredis only does with shardedSubscribers.
      const co = (c as Partial<Cluster>).options;
      if (co?.shardedSubscribers !== true) {
        invalid('Redis Cluster is not supported; give a client of a single Redis (or its primary)');
      }
      clusterClient = c as unknown as Cluster;
    }
  } else if (o.cluster !== undefined) {
    const nodes = (o.cluster as Partial<RedisClusterOptions> | null)?.nodes;
    if (!Array.isArray(nodes) || nodes.length === 0) {
      invalid('"cluster.nodes" must list at least one { host, port }');
    }
  } else if (typeof o.url !== 'string' || o.url.length === 0) {
    invalid('needs a "url" or a "client"');
  }
  if (o.keyPrefix !== undefined && (typeof o.keyPrefix !== 'string' || o.keyPrefix.length === 0)) {
    invalid('"keyPrefix" must be a non-empty string');
  }
  const heartbeatIntervalMs = ms(
    'heartbeatIntervalMs',
    o.heartbeatIntervalMs,
    REDIS_DEFAULTS.heartbeatIntervalMs,
  );
  const instanceTimeoutMs = ms(
    'instanceTimeoutMs',
    o.instanceTimeoutMs,
    REDIS_DEFAULTS.instanceTimeoutMs,
  );
  if (instanceTimeoutMs <= heartbeatIntervalMs) {
    invalid(
      `"instanceTimeoutMs" (${instanceTimeoutMs}) must exceed "heartbeatIntervalMs" (${heartbeatIntervalMs}); three times it is a good choice`,
    );
  }
  return {
    client: clusterClient ? undefined : (o.client as Redis | undefined) || undefined,
    cluster: o.client ? undefined : o.cluster,
    clusterClient,
    url: o.client || o.cluster ? undefined : o.url,
    redisOptions: o.redisOptions,
    keyPrefix: o.keyPrefix ?? REDIS_DEFAULTS.keyPrefix,
    heartbeatIntervalMs,
    instanceTimeoutMs,
    initTimeoutMs: ms('initTimeoutMs', o.initTimeoutMs, REDIS_DEFAULTS.initTimeoutMs),
    commandTimeoutMs: ms('commandTimeoutMs', o.commandTimeoutMs, REDIS_DEFAULTS.commandTimeoutMs),
    reconnectMaxDelayMs: ms(
      'reconnectMaxDelayMs',
      o.reconnectMaxDelayMs,
      REDIS_DEFAULTS.reconnectMaxDelayMs,
    ),
  };
}

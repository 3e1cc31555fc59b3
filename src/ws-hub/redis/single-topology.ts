import type { Redis, RedisOptions } from 'ioredis';
import { ReadyWaiters } from '../cluster/ready-waiters.js';
import { SequenceFilter, type MessageFilter } from '../cluster/sequence-filter.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { ChannelNames } from './channels.js';
import type { ResolvedRedisOptions } from './options.js';
import { PlainPublisher } from './plain-publisher.js';
import { presenceKeys, type PresenceKeys } from './presence.js';
import {
  IOREDIS_FEATURE,
  reconnectDelay,
  type ConnectionEvents,
  type RedisLinks,
  type RedisTopology,
  type Role,
} from './topology.js';

/** Loads the ioredis client class (an async init path: no top-level await, CommonJS apps `require()` us). */
async function loadRedisClass(): Promise<typeof Redis> {
  const ioredis = await loadOptionalPeer<typeof import('ioredis')>('ioredis', IOREDIS_FEATURE);
  return ioredis.Redis;
}

/** How long ioredis waits for a closing socket before destroying it (its default is 2 s). */
const DISCONNECT_TIMEOUT_MS = 200;

/**
 * A single Redis (or its primary): two ioredis connections, a publisher (also runs the presence
 * and recovery scripts; the user's own client when one is given, never closed here) and a
 * subscriber, plain pub/sub. Both fail fast instead of queueing and retry in the background;
 * readiness and reconnects are tracked here.
 */
export class SingleTopology implements RedisTopology {
  readonly layout = 'cluster=off';
  readonly outageQuietMs = 0;
  private pub: Redis | undefined;
  private sub: Redis | undefined;
  /** Times a connection came back after having been ready once. */
  reconnects = 0;
  private ownsPublisher = false;
  private stopped = false;
  private readonly everReady: Record<Role, boolean> = { publisher: false, subscriber: false };
  private readonly readyWaiters = new ReadyWaiters();
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly options: ResolvedRedisOptions,
    private readonly events: ConnectionEvents,
  ) {}

  channelNames(prefix: string, streams: boolean): ChannelNames {
    return new ChannelNames(prefix, streams, false);
  }

  presenceKeys(prefix: string): PresenceKeys {
    return presenceKeys(prefix, false);
  }

  /** One publisher connection delivers in publish order: the highest number per origin. */
  messageFilter(): MessageFilter {
    return new SequenceFilter();
  }

  plainPublisher(
    onFailed: (what: string, err: unknown) => void,
    redactText: (err: unknown) => string,
  ): PlainPublisher {
    return new PlainPublisher(onFailed, redactText, false);
  }

  recordedCopies(): undefined {
    return undefined;
  }

  /** Creates (or, for a given client, duplicates) the connections; they connect at once. */
  async open(instanceId: string): Promise<RedisLinks | undefined> {
    const o = this.options;
    // ioredis, an optional peer, is loaded on first use (a given client brings its own).
    const RedisCtor = o.client ? undefined : await loadRedisClass();
    if (this.stopped) return undefined;
    const retryStrategy = (times: number): number => reconnectDelay(times, o.reconnectMaxDelayMs);
    const socketTimeout = Math.max(5_000, 2 * o.heartbeatIntervalMs);
    // Fail fast instead of queueing: a message Redis cannot take now is dropped and counted,
    // never delivered late, and callers never wait.
    const common: RedisOptions = {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy,
      socketTimeout,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    };
    // The adapter resubscribes from its own record: rooms joined or left meanwhile are right.
    const subOptions: RedisOptions = {
      ...common,
      autoResubscribe: false,
      connectionName: `ws-hub-sub-${instanceId}`,
    };
    let pub: Redis;
    let sub: Redis;
    if (o.client) {
      pub = o.client;
      this.ownsPublisher = false;
      sub = o.client.duplicate(subOptions);
      if (pub.status === 'wait') pub.connect().catch(() => undefined);
    } else {
      if (!RedisCtor) throw new Error('SingleTopology.open: the ioredis class is needed');
      const extra = o.redisOptions ?? {};
      pub = new RedisCtor(o.url!, {
        ...extra,
        ...common,
        connectionName: `ws-hub-pub-${instanceId}`,
      });
      this.ownsPublisher = true;
      sub = new RedisCtor(o.url!, { ...extra, ...subOptions });
    }
    this.pub = pub;
    this.sub = sub;
    this.watch(pub, 'publisher');
    this.watch(sub, 'subscriber');
    sub.on('message', this.events.message);
    return { pub, sub };
  }

  bothReady(): boolean {
    return this.pub?.status === 'ready' && this.sub?.status === 'ready';
  }

  waitForReady(timeoutMs: number): Promise<boolean> {
    return this.readyWaiters.wait(() => this.bothReady(), timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    this.readyWaiters.release();
  }

  /** Detaches every listener and closes the connections the adapter created. */
  async close(): Promise<void> {
    this.stop();
    for (const off of this.detach.splice(0)) off();
    const ended: Promise<void>[] = [];
    if (this.sub) ended.push(disconnect(this.sub));
    if (this.pub && this.ownsPublisher) ended.push(disconnect(this.pub));
    await Promise.all(ended);
  }

  private watch(conn: Redis, role: Role): void {
    const onReady = (): void => this.onReady(role);
    const onError = (err: Error): void => this.events.failure(`${role} connection`, err);
    const onClose = (): void => this.events.failure(`${role} connection`, 'connection closed');
    conn.on('ready', onReady);
    conn.on('error', onError);
    conn.on('close', onClose);
    this.detach.push(() => {
      conn.off('ready', onReady);
      conn.off('close', onClose);
      conn.off('error', onError);
      if (role === 'subscriber') conn.off('message', this.events.message);
      // Keep ioredis from printing "Unhandled error event" for a connection being torn down.
      if (conn !== this.pub || this.ownsPublisher) conn.on('error', () => undefined);
    });
  }

  private onReady(role: Role): void {
    if (this.stopped) return;
    if (this.everReady[role]) this.reconnects++;
    this.everReady[role] = true;
    this.events.ready(role);
    if (this.bothReady()) this.readyWaiters.release();
  }
}

/**
 * Closes one of the adapter's own connections and resolves once nothing of it is left. A
 * connection between two attempts has no live socket: ioredis then never emits `end` and
 * leaves its `disconnectTimeout` timer running, so that timer is kept short and waited out.
 */
function disconnect(conn: Redis): Promise<void> {
  const status = conn.status;
  if (status === 'end') return Promise.resolve();
  if (status === 'reconnecting' || status === 'close') {
    conn.disconnect(false);
    return new Promise((resolve) => setTimeout(resolve, DISCONNECT_TIMEOUT_MS + 20));
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, DISCONNECT_TIMEOUT_MS + 500);
    conn.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.disconnect(false);
  });
}

import type { Cluster, Redis } from 'ioredis';
import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
  HubRecoveryStoreOptions,
  Recorded,
} from '../interfaces/cluster-adapter.interface.js';
import type { RecoveryStore } from '../interfaces/recovery.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { newInstanceId } from '../util/random.js';
import { ChannelNames, Subscriptions } from './channels.js';
import {
  ClusterConnections,
  loadClusterClass,
  type ShardedSubscriber,
} from './cluster-connections.js';
import { encodeHeader, encodeMessage } from './codec.js';
import { Inbox } from './inbox.js';
import { loadRedisClass, RedisConnections, withTimeout, type Role } from './connections.js';
import {
  resolveRedisOptions,
  type RedisHubAdapterOptions,
  type ResolvedRedisOptions,
} from './options.js';
import { describeTarget, OutageLog, secretsOf } from './outage.js';
import { LayoutWatch } from './layout-watch.js';
import { layoutConflicts, Presence, presenceKeys, totalOnline } from './presence.js';
import { PlainPublisher } from './plain-publisher.js';
import type { Recorder } from './recorder.js';
import type { RedisRecoveryStore } from './recovery-store.js';
import { createRedisRecovery } from './recovery-setup.js';
import { ReorderingFilter, SequenceFilter, type MessageFilter } from './sequence-filter.js';
import { adapterStats, type RedisHubAdapterStats } from './stats.js';

export type { RedisHubAdapterOptions } from './options.js';

/**
 * Cross-instance adapter on Redis pub/sub (ioredis). How it works (channels, delivery and
 * de-duplication, presence, recovery, faults) is told once, in the README's "Scaling out with
 * Redis". This class wires the parts: connections, channels and subscriptions, the wire codec,
 * the inbox and its sequence filter, presence, the outage log and, with recovery, the
 * recorder (publish scripts) and the recovery store (history reads, sessions).
 */
export class RedisHubAdapter implements HubAdapter {
  readonly distributed = true;
  private readonly options: ResolvedRedisOptions;
  private names: ChannelNames;
  private readonly subscriptions: Subscriptions;
  private readonly filter: MessageFilter;
  private readonly outage: OutageLog;
  private readonly connections: RedisConnections | ClusterConnections;
  /** Cluster mode (README, "Redis Cluster"): sharded pub/sub, every channel hash-tagged. */
  private readonly cluster: boolean;

  private host: HubAdapterHost | undefined;
  private presence: Presence | undefined;
  private inbox: Inbox | undefined;
  private recorder: Recorder | undefined;
  private store: RedisRecoveryStore | undefined;
  private selfId = '';
  private pub: Redis | Cluster | undefined;
  private sub: Redis | ShardedSubscriber | undefined;
  private presenceAtMs = 0;
  private subscribedOnce = false;
  private closed = false;
  private seq = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly plain: PlainPublisher;
  private readonly counters = { received: 0, duplicates: 0, malformed: 0 };
  private readonly layouts = new LayoutWatch(
    () => this.layout(),
    () => this.options.keyPrefix,
  );

  constructor(options: RedisHubAdapterOptions | HubRedisOptions) {
    this.options = resolveRedisOptions(options);
    this.cluster = !!(this.options.cluster || this.options.clusterClient);
    this.names = new ChannelNames(this.options.keyPrefix, false, this.cluster);
    this.filter = this.cluster ? new ReorderingFilter() : new SequenceFilter();
    this.outage = new OutageLog(describeTarget(this.options), secretsOf(this.options));
    if (this.cluster) this.outage.quietMs = this.options.heartbeatIntervalMs;
    this.subscriptions = new Subscriptions(this.onSubscribeFailed);
    this.plain = new PlainPublisher(
      (what, err) => this.noteFailure(what, err),
      (err) => this.outage.redact(err),
      this.cluster,
    );
    const Connections = this.cluster ? ClusterConnections : RedisConnections;
    this.connections = new Connections(this.options, {
      ready: (role) => this.onReady(role),
      failure: (what, err) => this.noteFailure(what, err),
      message: (channel, payload) => {
        // A given Cluster client may carry the app's own shard channels too.
        if (this.closed || (this.cluster && !this.subscriptions.has(channel))) return;
        this.inbox?.receive(payload);
      },
    });
  }

  // ------------------------------------------------------------------ HubAdapter

  async init(host: HubAdapterHost): Promise<void> {
    if (this.host || this.closed) return;
    const o = this.options;
    this.host = host;
    this.selfId = host.instanceId;
    this.presenceAtMs = Date.now();
    this.inbox = new Inbox(this.selfId, this.filter, this.recorder, this.counters, this.apply);
    this.subscriptions.want(this.names.all);
    this.subscriptions.want(this.names.instance(this.selfId));
    // ioredis, an optional peer, is loaded on first use (a given client brings its own).
    const given = o.client ?? o.clusterClient;
    const Ctor = given ? undefined : await (this.cluster ? loadClusterClass : loadRedisClass)();
    if (this.closed) return;
    const { pub, sub } = this.connections.open(this.selfId, Ctor as never);
    this.pub = pub;
    this.sub = sub;
    this.subscriptions.attach(sub);
    this.recorder?.start();
    const presence = new Presence({
      pub,
      host,
      keys: presenceKeys(o.keyPrefix, this.cluster),
      instanceTimeoutMs: o.instanceTimeoutMs,
      commandTimeoutMs: o.commandTimeoutMs,
      onFailure: (what, err) => this.noteFailure(what, err),
      layout: this.layout(),
      onRefreshed: (live, view) => {
        this.presenceAtMs = Date.now();
        this.filter.forgetSilent(live, o.instanceTimeoutMs);
        this.layouts.check(layoutConflicts(view, this.selfId, this.layout()));
        this.recovered();
      },
    });
    this.presence = presence;

    const ready = await this.connections.waitForReady(o.initTimeoutMs);
    if (!ready) {
      this.noteFailure(
        'startup',
        `Redis at ${this.outage.target} not reachable within ${o.initTimeoutMs} ms`,
      );
    } else {
      // Registered and subscribed before the app starts taking connections.
      await Promise.all([presence.heartbeat(), this.settled()]);
      hubLogger.log(
        `Redis adapter connected to ${this.outage.target} (prefix "${o.keyPrefix}", instance ${this.selfId}${this.recorder ? ', recovery on' : ''})`,
      );
    }
    if (!this.closed) {
      this.heartbeatTimer = setInterval(() => this.tick(), o.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * With recovery on, the core asks for the store before `init`: from then on channels are the
   * streams' (hash-tagged) and recorded messages go through the publish script.
   */
  recoveryStore(options: HubRecoveryStoreOptions): RecoveryStore {
    if (this.store) return this.store;
    if (this.host) throw new Error('RedisHubAdapter: recoveryStore() must come before init()');
    this.names = new ChannelNames(this.options.keyPrefix, true, this.cluster);
    const parts = createRedisRecovery(this.names, options, this.options.commandTimeoutMs, {
      pub: () => this.pub,
      subscriberGeneration: () => this.subscriptions.settled,
      apply: (message) => this.apply(message, this.selfId),
      onFailed: (what, err) => this.noteFailure(what, err),
      cluster: this.cluster ? { idPrefix: newInstanceId() + ':' } : undefined,
    });
    this.recorder = parts.recorder;
    this.store = parts.store;
    return this.store;
  }

  publish(message: HubAdapterMessage): void {
    if (this.closed) return;
    const streams = (message as Recorded).streams;
    if (this.recorder && streams && streams.length && 'frame' in message) {
      const seq = ++this.seq;
      this.recorder.record(seq, encodeHeader(this.selfId, seq, message, true), message, streams);
      return;
    }
    const pub = this.pub;
    if (!pub) return;
    const channels = this.names.for(message);
    if (channels.length > 0) {
      this.plain.publish(pub, channels, encodeMessage(this.selfId, ++this.seq, message));
    }
  }

  roomAdded(room: string): Promise<void> {
    this.want(this.names.room(room));
    return this.settled();
  }

  roomRemoved(room: string): void {
    this.unwant(this.names.room(room));
  }

  userAdded(userId: string): Promise<void> {
    this.want(this.names.user(userId));
    return this.settled();
  }

  userRemoved(userId: string): void {
    this.unwant(this.names.user(userId));
  }

  /** With recovery: `send`/`disconnect` for this client now reach this instance. */
  clientAdded(clientId: string): Promise<void> | undefined {
    if (!this.recorder || this.closed) return undefined;
    this.subscriptions.hold(this.names.client(clientId));
    return this.settled();
  }

  clientRemoved(clientId: string): void {
    if (this.recorder && !this.closed) this.subscriptions.release(this.names.client(clientId));
  }

  async clusterOnline(): Promise<number> {
    return totalOnline(await this.instances());
  }

  async instances(): Promise<HubInstanceInfo[]> {
    return this.presence ? this.presence.instances() : [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.recorder?.stop();
    this.connections.stop();
    await this.presence?.leave();
    await this.connections.close(this.subscriptions.list());
    this.subscriptions.clear();
    this.filter.clear();
  }

  // --------------------------------------------------------------- extra public API

  /** Counters for monitoring and tests (history counters with recovery on). */
  stats(): RedisHubAdapterStats {
    const r = this.recorder?.stats();
    return adapterStats(
      {
        published: this.plain.published + (r?.historyWrites ?? 0),
        publishFailures: this.plain.failures + (r?.historyFailures ?? 0),
        ...this.counters,
      },
      {
        reconnects: this.connections.reconnects,
        subscriptions: this.subscriptions.size,
        connected: !this.outage.active && this.connections.bothReady(),
        presenceAgeMs: this.host ? Date.now() - this.presenceAtMs : undefined,
        layoutConflicts: this.layouts.conflicts,
        recorder: r,
      },
    );
  }

  /**
   * Resolves once Redis has processed every SUBSCRIBE/UNSUBSCRIBE sent so far (a PING on the
   * subscriber connection answers after them), so a room joined here is reachable from other
   * instances. Bounded by `commandTimeoutMs`; never rejects.
   */
  async settled(): Promise<void> {
    const sub = this.sub;
    if (this.closed || !sub || sub.status !== 'ready') return;
    await withTimeout(sub.ping(), this.options.commandTimeoutMs).catch(() => undefined);
  }

  /** Channel names, for tools and tests (`client` is a stream channel: recovery on). */
  channels(): Pick<ChannelNames, 'all' | 'room' | 'user' | 'instance' | 'client' | 'stream'> {
    return this.names;
  }

  // ---------------------------------------------------------------------- internals

  /**
   * How this instance names channels and keys: instances on one Redis and key prefix that
   * disagree (recovery on and off, say) cannot reach each other's clients.
   */
  private layout(): string {
    return `recovery=${this.recorder ? 'on' : 'off'},cluster=${this.cluster ? 'on' : 'off'},wire=2`;
  }

  private want(channel: string): void {
    if (!this.closed) this.subscriptions.want(channel);
  }

  private unwant(channel: string): void {
    if (!this.closed) this.subscriptions.unwant(channel);
  }

  private onReady(role: Role): void {
    if (role === 'subscriber') {
      // After a break, what was published meanwhile never reached this instance: once every
      // channel is back, the hub checks the streams its recovering clients are in.
      const again = this.subscribedOnce;
      this.subscribedOnce = true;
      this.subscriptions.subscribeAll(again ? () => this.host?.resubscribed?.() : undefined);
    } else {
      this.recorder?.flushGaps(); // first thing: mark what was lost while Redis was away
      if (this.heartbeatTimer) void this.presence?.heartbeat(); // re-register presence at once
    }
    this.recovered();
  }

  private tick(): void {
    if (this.closed) return;
    void this.presence?.heartbeat();
    this.recorder?.flushGaps();
    // A PING on the subscriber lets socketTimeout detect a half-open connection.
    if (this.sub?.status === 'ready') this.sub.ping().catch(() => undefined);
  }

  private noteFailure(what: string, err: unknown): void {
    if (!this.closed) this.outage.failure(what, err);
  }

  private recovered(): void {
    if (!this.closed && this.connections.bothReady()) this.outage.recovered();
  }

  private readonly apply = (message: HubAdapterMessage, origin: string): void => {
    try {
      this.host?.applyRemote(message);
    } catch (err) {
      hubLogger.error(`applying a message from instance ${origin} failed: ${errorText(err)}`);
    }
  };

  private readonly onSubscribeFailed = (err: unknown): void => {
    this.noteFailure('subscribe', err);
  };
}

import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
  HubRecoveryStoreOptions,
} from '../interfaces/cluster-adapter.interface.js';
import type { RecoveryStore } from '../interfaces/recovery.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { encodeHeader, encodeMessage } from '../cluster/codec.js';
import { withTimeout } from '../cluster/command-timeout.js';
import { Inbox } from '../cluster/inbox.js';
import { LayoutWatch } from '../cluster/layout-watch.js';
import { layoutConflicts, totalOnline } from '../cluster/presence-view.js';
import type { MessageFilter } from '../cluster/sequence-filter.js';
import { SubscriptionSet } from '../cluster/subscription-set.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import type { ChannelNames } from './channels.js';
import { ClusterTopology } from './cluster-topology.js';
import {
  resolveRedisOptions,
  type RedisHubAdapterOptions,
  type ResolvedRedisOptions,
} from './options.js';
import { describeTarget, RedisOutageLog, secretsOf } from './outage.js';
import type { PlainPublisher } from './plain-publisher.js';
import { Presence } from './presence.js';
import type { Recorder } from './recorder.js';
import type { RedisRecoveryStore } from './recovery-store.js';
import { createRedisRecovery } from './recovery-setup.js';
import { SingleTopology } from './single-topology.js';
import { adapterStats, type RedisHubAdapterStats } from './stats.js';
import type { ConnectionEvents, RedisLinks, RedisTopology, Role } from './topology.js';

export type { RedisHubAdapterOptions } from './options.js';

/** The channel names of an adapter (`RedisHubAdapter.channels()`; the README explains them). */
export interface RedisChannelNames {
  /** Broadcasts to everyone. */
  readonly all: string;
  /** Broadcasts to a room. */
  room(room: string): string;
  /** `sendToUser` / `disconnectUser`. */
  user(userId: string): string;
  /** `send` / `disconnect` to the clients of one instance (recovery off). */
  instance(instanceId: string): string;
  /** With recovery: `send` / `disconnect` to one client, wherever it is connected. */
  client(clientId: string): string;
  /** The channel of a stream (`all`, `room:<r>`, `user:<u>`, `client:<id>`). */
  stream(name: string): string;
}

/** Single Redis or Redis Cluster, chosen once from the options. */
function createTopology(options: ResolvedRedisOptions, events: ConnectionEvents): RedisTopology {
  return options.cluster || options.clusterClient
    ? new ClusterTopology(options, events)
    : new SingleTopology(options, events);
}

/** The adapter attached to its host: everything `init` builds, created in one step. */
interface Attached extends RedisLinks {
  host: HubAdapterHost;
  presence: Presence;
  inbox: Inbox;
  /** When this instance's presence was last refreshed (since `init` when it never was). */
  presenceAtMs: number;
  /** Whether the subscriber was ready once (a later `ready` is a resubscription). */
  subscribedOnce: boolean;
  /** The presence refresh, set once the adapter is up. */
  refreshTimer: NodeJS.Timeout | undefined;
}

/**
 * Cross-instance adapter on Redis pub/sub (ioredis). How it works (channels, delivery and
 * de-duplication, presence, recovery, faults) is told once, in the README's "Scaling out with
 * Redis". This class wires the parts: the topology (a single Redis or a Redis Cluster), channel
 * names, and from the cluster toolkit the subscription set, the wire codec, the inbox and its
 * sequence filter, presence arithmetic and the outage log; with recovery, the recorder
 * (publish scripts) and the recovery store (history reads, sessions).
 */
export class RedisHubAdapter implements HubAdapter {
  readonly distributed = true;
  private readonly options: ResolvedRedisOptions;
  private readonly topology: RedisTopology;
  private names: ChannelNames;
  private readonly subscriptions: SubscriptionSet;
  private readonly filter: MessageFilter;
  private readonly outage: RedisOutageLog;
  private readonly plain: PlainPublisher;
  private readonly counters = { received: 0, duplicates: 0, malformed: 0 };
  private readonly layouts = new LayoutWatch(
    () => this.layout(),
    () => this.options.keyPrefix,
  );
  /** With recovery on (`recoveryStore()`, before `init`): the recorder and the store. */
  private recovery: { recorder: Recorder; store: RedisRecoveryStore } | undefined;
  /** `init` once called (a second call gets the same promise). */
  private attaching: Promise<void> | undefined;
  /** Set by `init` in one step, once the connections exist. */
  private attached: Attached | undefined;
  private closed = false;
  private seq = 0;

  constructor(options: RedisHubAdapterOptions | HubRedisOptions) {
    this.options = resolveRedisOptions(options);
    this.topology = createTopology(this.options, {
      ready: (role) => this.onReady(role),
      failure: (what, err) => this.noteFailure(what, err),
      wanted: (channel) => this.subscriptions.has(channel),
      message: (_channel, payload) => {
        if (!this.closed) this.attached?.inbox.receive(payload);
      },
    });
    this.names = this.topology.channelNames(this.options.keyPrefix, false);
    this.filter = this.topology.messageFilter();
    this.outage = new RedisOutageLog(describeTarget(this.options), secretsOf(this.options));
    this.outage.quietMs = this.topology.outageQuietMs;
    this.subscriptions = new SubscriptionSet(this.onSubscribeFailed);
    this.plain = this.topology.plainPublisher(
      (what, err) => this.noteFailure(what, err),
      (err) => this.outage.redact(err),
    );
  }

  // ------------------------------------------------------------------ HubAdapter

  init(host: HubAdapterHost): Promise<void> {
    if (this.closed) return Promise.resolve();
    return (this.attaching ??= this.attach(host));
  }

  /**
   * With recovery on, the core asks for the store before `init`: from then on channels are the
   * streams' (hash-tagged) and recorded messages go through the publish script.
   */
  recoveryStore(options: HubRecoveryStoreOptions): RecoveryStore {
    if (this.recovery) return this.recovery.store;
    if (this.attaching) throw new Error('RedisHubAdapter: recoveryStore() must come before init()');
    this.names = this.topology.channelNames(this.options.keyPrefix, true);
    this.recovery = createRedisRecovery(this.names, options, this.options.commandTimeoutMs, {
      pub: () => this.attached?.pub,
      subscriberGeneration: () => this.subscriptions.settled,
      apply: (message) => this.apply(message, this.attached?.host.instanceId ?? ''),
      onFailed: (what, err) => this.noteFailure(what, err),
      redisCluster: this.topology.recordedCopies(),
    });
    return this.recovery.store;
  }

  publish(message: HubAdapterMessage): void {
    if (this.closed) return;
    const attached = this.attached;
    const selfId = attached?.host.instanceId ?? '';
    const recorder = this.recovery?.recorder;
    if (recorder && 'frame' in message && message.streams && message.streams.length) {
      const seq = ++this.seq;
      recorder.record(seq, encodeHeader(selfId, seq, message, true), message, message.streams);
      return;
    }
    if (!attached) return;
    const channels = this.names.for(message);
    if (channels.length > 0) {
      this.plain.publish(attached.pub, channels, encodeMessage(selfId, ++this.seq, message));
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
    if (!this.recovery || this.closed) return undefined;
    this.subscriptions.hold(this.names.client(clientId));
    return this.settled();
  }

  clientRemoved(clientId: string): void {
    if (this.recovery && !this.closed) this.subscriptions.release(this.names.client(clientId));
  }

  async clusterOnline(): Promise<number> {
    return totalOnline(await this.instances());
  }

  async instances(): Promise<HubInstanceInfo[]> {
    return this.attached ? this.attached.presence.instances() : [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const attached = this.attached;
    if (attached?.refreshTimer) clearInterval(attached.refreshTimer);
    if (attached) attached.refreshTimer = undefined;
    this.recovery?.recorder.stop();
    this.topology.stop();
    await attached?.presence.leave();
    await this.topology.close(this.subscriptions.list());
    this.subscriptions.clear();
    this.filter.clear();
  }

  // --------------------------------------------------------------- extra public API

  /** Counters for monitoring and tests (history counters with recovery on). */
  stats(): RedisHubAdapterStats {
    const r = this.recovery?.recorder.stats();
    const attached = this.attached;
    return adapterStats(
      {
        published: this.plain.published + (r?.historyWrites ?? 0),
        publishFailures: this.plain.failures + (r?.historyFailures ?? 0),
        ...this.counters,
      },
      {
        reconnects: this.topology.reconnects,
        subscriptions: this.subscriptions.size,
        connected: !this.outage.active && this.topology.bothReady(),
        presenceAgeMs: attached ? Date.now() - attached.presenceAtMs : undefined,
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
    const sub = this.attached?.sub;
    if (this.closed || !sub || sub.status !== 'ready') return;
    await withTimeout(sub.ping(), this.options.commandTimeoutMs).catch(() => undefined);
  }

  /** Channel names, for tools and tests (`client` is a stream channel: recovery on). */
  channels(): RedisChannelNames {
    return this.names;
  }

  // ---------------------------------------------------------------------- internals

  /** Opens the connections and builds the attached state in one step, then waits for Redis. */
  private async attach(host: HubAdapterHost): Promise<void> {
    const o = this.options;
    const selfId = host.instanceId;
    const startedAtMs = Date.now();
    this.subscriptions.want(this.names.all);
    this.subscriptions.want(this.names.instance(selfId));
    const links = await this.topology.open(selfId);
    if (!links || this.closed) return;
    this.subscriptions.attach(links.sub);
    this.recovery?.recorder.start();
    const recorder = this.recovery?.recorder;
    const attached: Attached = {
      ...links,
      host,
      inbox: new Inbox(selfId, this.filter, recorder, this.counters, this.apply),
      presence: new Presence({
        pub: links.pub,
        host,
        keys: this.topology.presenceKeys(o.keyPrefix),
        instanceTimeoutMs: o.instanceTimeoutMs,
        commandTimeoutMs: o.commandTimeoutMs,
        onFailure: (what, err) => this.noteFailure(what, err),
        layout: this.layout(),
        onRefreshed: (live, view) => {
          attached.presenceAtMs = Date.now();
          this.filter.forgetSilent(live, o.instanceTimeoutMs);
          this.layouts.check(layoutConflicts(view, selfId, this.layout()));
          this.recovered();
        },
      }),
      presenceAtMs: startedAtMs,
      subscribedOnce: false,
      refreshTimer: undefined,
    };
    this.attached = attached;

    const ready = await this.topology.waitForReady(o.initTimeoutMs);
    if (!ready) {
      this.noteFailure(
        'startup',
        `Redis at ${this.outage.target} not reachable within ${o.initTimeoutMs} ms`,
      );
    } else {
      // Registered and subscribed before the app starts taking connections.
      await Promise.all([attached.presence.refresh(), this.settled()]);
      hubLogger.log(
        `Redis adapter connected to ${this.outage.target} (prefix "${o.keyPrefix}", instance ${selfId}${this.recovery ? ', recovery on' : ''})`,
      );
    }
    if (!this.closed) {
      attached.refreshTimer = setInterval(() => this.tick(), o.heartbeatIntervalMs);
      attached.refreshTimer.unref();
    }
  }

  /**
   * How this instance names channels and keys: instances on one Redis and key prefix that
   * disagree (recovery on and off, say) cannot reach each other's clients.
   */
  private layout(): string {
    return `recovery=${this.recovery ? 'on' : 'off'},${this.topology.layout},wire=2`;
  }

  private want(channel: string): void {
    if (!this.closed) this.subscriptions.want(channel);
  }

  private unwant(channel: string): void {
    if (!this.closed) this.subscriptions.unwant(channel);
  }

  private onReady(role: Role): void {
    const attached = this.attached;
    if (role === 'subscriber') {
      // After a break, what was published meanwhile never reached this instance: once every
      // channel is back, the hub checks the streams its recovering clients are in.
      const again = attached?.subscribedOnce === true;
      if (attached) attached.subscribedOnce = true;
      this.subscriptions.subscribeAll(again ? () => attached?.host.resubscribed?.() : undefined);
    } else {
      this.recovery?.recorder.flushGaps(); // first thing: mark what was lost while Redis was away
      // re-register presence at once
      if (attached?.refreshTimer) void attached.presence.refresh();
    }
    this.recovered();
  }

  /** Every `heartbeatIntervalMs`: the presence refresh, tombstones, a PING on the subscriber. */
  private tick(): void {
    const attached = this.attached;
    if (this.closed || !attached) return;
    void attached.presence.refresh();
    this.recovery?.recorder.flushGaps();
    // A PING on the subscriber lets socketTimeout detect a half-open connection.
    if (attached.sub.status === 'ready') attached.sub.ping().catch(() => undefined);
  }

  private noteFailure(what: string, err: unknown): void {
    if (!this.closed) this.outage.failure(what, err);
  }

  private recovered(): void {
    if (!this.closed && this.topology.bothReady()) this.outage.recovered();
  }

  private readonly apply = (message: HubAdapterMessage, origin: string): void => {
    try {
      this.attached?.host.applyRemote(message);
    } catch (err) {
      hubLogger.error(`applying a message from instance ${origin} failed: ${errorText(err)}`);
    }
  };

  private readonly onSubscribeFailed = (err: unknown): void => {
    this.noteFailure('subscribe', err);
  };
}

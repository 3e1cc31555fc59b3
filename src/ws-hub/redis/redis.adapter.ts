import type { Redis } from 'ioredis';
import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
} from '../interfaces/cluster-adapter.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { hubLogger } from '../logger.js';
import { errorText } from '../options/validators.js';
import { ChannelNames, Subscriptions } from './channels.js';
import { decodeMessage, encodeMessage, originPrefix } from './codec.js';
import { loadRedisClass, RedisConnections, withTimeout, type Role } from './connections.js';
import {
  resolveRedisOptions,
  type RedisHubAdapterOptions,
  type ResolvedRedisOptions,
} from './options.js';
import { describeTarget, OutageLog, secretsOf } from './outage.js';
import { Presence, presenceKeys, totalOnline } from './presence.js';
import { EVAL_REFUSED, MULTI_PUBLISH } from './scripts.js';
import { SequenceFilter } from './sequence-filter.js';

export type { RedisHubAdapterOptions } from './options.js';

/** Counters of the Redis adapter (see `RedisHubAdapter.stats()`). */
export interface RedisHubAdapterStats {
  /** Messages published to Redis and acknowledged. */
  published: number;
  /** Messages that could not be published (Redis unreachable or an error reply); lost for other instances. */
  publishFailures: number;
  /** Messages from other instances applied to this instance's clients. */
  received: number;
  /** Extra copies of a multi-room broadcast, dropped so that each client gets it once. */
  duplicates: number;
  /** Payloads that were not ws-hub messages (ignored). */
  malformed: number;
  /** Times a connection to Redis was re-established after having been lost. */
  reconnects: number;
  /** Channels this instance wants to be subscribed to. */
  subscriptions: number;
  /** Whether both connections are up and no failure is outstanding. */
  connected: boolean;
}

/**
 * Cross-instance adapter on Redis pub/sub (ioredis). How it works (channels, delivery and
 * de-duplication, presence, faults) is told once, in the README's "Scaling out with Redis".
 * This class wires the parts: connections, channels and subscriptions, the wire codec, the
 * sequence filter, presence and the outage log.
 */
export class RedisHubAdapter implements HubAdapter {
  readonly distributed = true;
  private readonly options: ResolvedRedisOptions;
  private readonly names: ChannelNames;
  private readonly subscriptions: Subscriptions;
  private readonly filter = new SequenceFilter();
  private readonly outage: OutageLog;
  private readonly connections: RedisConnections;

  private host: HubAdapterHost | undefined;
  private presence: Presence | undefined;
  private selfId = '';
  private selfPrefix = '\0';
  private pub: Redis | undefined;
  private sub: Redis | undefined;
  private closed = false;
  private seq = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private useScriptForRooms = true;
  private readonly counters = {
    published: 0,
    publishFailures: 0,
    received: 0,
    duplicates: 0,
    malformed: 0,
  };

  constructor(options: RedisHubAdapterOptions | HubRedisOptions) {
    this.options = resolveRedisOptions(options);
    this.names = new ChannelNames(this.options.keyPrefix);
    this.outage = new OutageLog(describeTarget(this.options), secretsOf(this.options));
    this.subscriptions = new Subscriptions(this.onSubscribeFailed);
    this.connections = new RedisConnections(this.options, {
      ready: (role) => this.onReady(role),
      failure: (what, err) => this.noteFailure(what, err),
      message: this.onMessage,
    });
  }

  // ------------------------------------------------------------------ HubAdapter

  async init(host: HubAdapterHost): Promise<void> {
    if (this.host || this.closed) return;
    const o = this.options;
    this.host = host;
    this.selfId = host.instanceId;
    this.selfPrefix = originPrefix(this.selfId);
    this.subscriptions.want(this.names.all);
    this.subscriptions.want(this.names.instance(this.selfId));
    // ioredis, an optional peer, is loaded on first use (a given client brings its own).
    const RedisCtor = o.client ? undefined : await loadRedisClass();
    if (this.closed) return;
    const { pub, sub } = this.connections.open(this.selfId, RedisCtor);
    this.pub = pub;
    this.sub = sub;
    this.subscriptions.attach(sub);
    const presence = new Presence({
      pub,
      host,
      keys: presenceKeys(o.keyPrefix),
      instanceTimeoutMs: o.instanceTimeoutMs,
      commandTimeoutMs: o.commandTimeoutMs,
      onFailure: (what, err) => this.noteFailure(what, err),
      onRefreshed: (live) => {
        this.filter.forgetSilent(live, o.instanceTimeoutMs);
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
        `Redis adapter connected to ${this.outage.target} (prefix "${o.keyPrefix}", instance ${this.selfId})`,
      );
    }
    if (!this.closed) {
      this.heartbeatTimer = setInterval(() => this.tick(), o.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  publish(message: HubAdapterMessage): void {
    const pub = this.pub;
    if (this.closed || !pub) return;
    const channels = this.names.for(message);
    if (channels.length === 0) return;
    if (pub.status !== 'ready') {
      this.counters.publishFailures++;
      this.noteFailure('publish', 'not connected');
      return;
    }
    const payload = encodeMessage(this.selfId, ++this.seq, message);
    try {
      if (channels.length === 1) {
        pub.publish(channels[0], payload).then(this.onPublished, this.onPublishFailed);
      } else if (this.useScriptForRooms) {
        pub
          .eval(MULTI_PUBLISH, 0, payload, ...channels)
          .then(this.onPublished, this.onMultiPublishFailed);
      } else {
        Promise.all(channels.map((c) => pub.publish(c, payload))).then(
          this.onPublished,
          this.onPublishFailed,
        );
      }
    } catch (err) {
      this.onPublishFailed(err);
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
    this.connections.stop();
    await this.presence?.leave();
    await this.connections.close();
    this.subscriptions.clear();
    this.filter.clear();
  }

  // --------------------------------------------------------------- extra public API

  /** Counters for monitoring and tests. */
  stats(): RedisHubAdapterStats {
    return {
      ...this.counters,
      reconnects: this.connections.reconnects,
      subscriptions: this.subscriptions.size,
      connected: !this.outage.active && this.connections.bothReady(),
    };
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

  /** Channel names, for tools and tests. */
  channels(): {
    all: string;
    room(room: string): string;
    user(userId: string): string;
    instance(id: string): string;
  } {
    const names = this.names;
    return {
      all: names.all,
      room: (r) => names.room(r),
      user: (u) => names.user(u),
      instance: (i) => names.instance(i),
    };
  }

  // ---------------------------------------------------------------------- internals

  private want(channel: string): void {
    if (!this.closed) this.subscriptions.want(channel);
  }

  private unwant(channel: string): void {
    if (!this.closed) this.subscriptions.unwant(channel);
  }

  private onReady(role: Role): void {
    if (role === 'subscriber') this.subscriptions.subscribeAll();
    else if (this.heartbeatTimer) void this.presence?.heartbeat(); // re-register presence at once
    this.recovered();
  }

  private tick(): void {
    if (this.closed) return;
    void this.presence?.heartbeat();
    // A PING on the subscriber lets socketTimeout detect a half-open connection.
    if (this.sub?.status === 'ready') this.sub.ping().catch(() => undefined);
  }

  private noteFailure(what: string, err: unknown): void {
    if (!this.closed) this.outage.failure(what, err);
  }

  private recovered(): void {
    if (!this.closed && this.connections.bothReady()) this.outage.recovered();
  }

  private readonly onMessage = (_channel: string, payload: string): void => {
    // Own messages: the hub delivered them locally already.
    if (this.closed || payload.startsWith(this.selfPrefix)) return;
    const decoded = decodeMessage(payload);
    if (!decoded) {
      this.counters.malformed++;
      return;
    }
    if (!this.filter.accept(decoded.origin, decoded.seq)) {
      this.counters.duplicates++;
      return;
    }
    this.counters.received++;
    try {
      this.host?.applyRemote(decoded.message);
    } catch (err) {
      hubLogger.error(
        `applying a message from instance ${decoded.origin} failed: ${errorText(err)}`,
      );
    }
  };

  private readonly onPublished = (): void => {
    this.counters.published++;
  };

  private readonly onPublishFailed = (err: unknown): void => {
    this.counters.publishFailures++;
    this.noteFailure('publish', err);
  };

  private readonly onMultiPublishFailed = (err: unknown): void => {
    if (this.useScriptForRooms && EVAL_REFUSED.test(errorText(err))) {
      // EVAL refused for good: publish room by room from now on. Transient errors (OOM, BUSY,
      // LOADING...) are only counted.
      this.useScriptForRooms = false;
      hubLogger.warn(
        `Redis refused EVAL (${this.outage.redact(err)}); multi-room broadcasts now use one PUBLISH per room`,
      );
    }
    this.onPublishFailed(err);
  };

  private readonly onSubscribeFailed = (err: unknown): void => {
    this.noteFailure('subscribe', err);
  };
}

import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubInstanceInfo,
} from '../interfaces/cluster-adapter.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { decodeMessage, encodeMessage, originPrefix } from './codec.js';
import { HEARTBEAT, LEAVE, MULTI_PUBLISH, QUERY } from './scripts.js';

/**
 * Options of `RedisHubAdapter`: the module's `redis` block (documented on `HubRedisOptions`),
 * with the ioredis types filled in.
 */
export interface RedisHubAdapterOptions extends Omit<HubRedisOptions, 'client' | 'redisOptions'> {
  /**
   * An existing ioredis client. The adapter publishes and runs its presence commands with it
   * (it never closes it) and duplicates it once for its subscriber connection.
   */
  client?: Redis;
  /** Extra ioredis options for the connections created from `url` (TLS, username, ...). */
  redisOptions?: RedisOptions;
}

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

const DEFAULTS = {
  keyPrefix: 'ws-hub',
  heartbeatIntervalMs: 2_000,
  instanceTimeoutMs: 6_000,
  initTimeoutMs: 5_000,
  commandTimeoutMs: 1_000,
  reconnectMaxDelayMs: 1_000,
};

/** Channels subscribed to in one SUBSCRIBE command when (re)subscribing everything. */
const SUBSCRIBE_BATCH = 500;
const TIMEOUT = Symbol('timeout');
/** Replies meaning this Redis will never run the multi-room publish script. */
const EVAL_REFUSED = /^(NOPERM|ERR unknown command|ERR Error compiling)|not allowed|disabled/i;
/** How long ioredis waits for a closing socket before destroying it (its default is 2 s). */
const DISCONNECT_TIMEOUT_MS = 200;

type Role = 'publisher' | 'subscriber';

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `RedisHubAdapter: "${name}" must be a positive integer (ms), got ${String(value)}`,
    );
  }
  return value;
}

/** `host:port/db` of a Redis URL, without credentials: the only form of it ever logged. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis (unparsable url)';
  }
}

/**
 * Cross-instance adapter on Redis pub/sub (ioredis).
 *
 * ## Channels
 * - `<p>:all`: broadcasts to everyone; every instance subscribes.
 * - `<p>:room:<room>`: broadcasts to a room; an instance subscribes when it gains the room's
 *   first local member (`roomAdded`) and unsubscribes when it loses the last (`roomRemoved`),
 *   so Redis only forwards a room's traffic to instances that have members in it.
 * - `<p>:user:<userId>`: `sendToUser` / `disconnectUser`; subscribed while the user has a
 *   connection on this instance.
 * - `<p>:inst:<instanceId>`: `send` / `disconnect` to one client; the target instance is the
 *   client id's prefix before the first `.`, so exactly one instance receives it.
 *
 * Why a plain channel per room: on one Redis (or a primary with replicas) SUBSCRIBE gives
 * per-channel routing for free and SUBSCRIBE/UNSUBSCRIBE are cheap, so an instance pays only
 * for its rooms. PSUBSCRIBE (`<p>:room:*`) would send every room's traffic to every instance,
 * which is what rooms are meant to avoid. Sharded pub/sub (SSUBSCRIBE, Redis 7) only changes
 * anything on Redis Cluster, where it keeps a channel's traffic within its shard; on a single
 * Redis it behaves like SUBSCRIBE, and it would forbid the atomic multi-room publish below
 * (channels of different slots). Cluster is not supported by this adapter.
 *
 * ## Delivery
 * A message is encoded once (`redis-codec.ts`: a small JSON header, `\n`, the frame text
 * untouched) and published on one connection. A broadcast to several rooms is published to
 * each room channel by one `EVAL` (the payload crosses the wire once, the copies are published
 * back to back). Every message carries its origin and a per-origin sequence number; Redis
 * delivers the messages of one publisher connection to a subscriber in publish order, so a
 * receiver keeps only the highest sequence seen per origin and drops anything not above it:
 * that removes the extra copies of a multi-room broadcast (the first copy is applied to the
 * union of its rooms locally) with memory bounded by the number of live instances, and it
 * also keeps per-publisher order. An instance ignores its own messages (the hub delivered
 * them locally already).
 *
 * ## Presence
 * Every `heartbeatIntervalMs` the instance writes its client count and the Redis server time
 * into `<p>:instances` (sorted set) and `<p>:online` (hash) and prunes entries older than
 * `instanceTimeoutMs`. Reads (`clusterOnline()`, `instances()`) exclude entries older than
 * `instanceTimeoutMs` at read time and use this instance's own count live. A graceful
 * `close()` removes the instance at once. An instance killed without goodbye is excluded from
 * reads at most `instanceTimeoutMs` after its last refresh, that is within `instanceTimeoutMs`
 * of its death, and pruned from Redis (and reported through `host.instanceGone`) within
 * `instanceTimeoutMs + heartbeatIntervalMs`.
 *
 * ## Faults
 * The hub always delivers to its own clients itself, so losing Redis only stops the traffic
 * between instances. `publish` never throws nor waits: while the publisher is not connected a
 * message is counted as a failure and dropped (no offline queue, nothing replayed later).
 * The first failure of an outage is logged once (context `WsHub`); the recovery is logged
 * once too. Presence reads answer within `commandTimeoutMs`, with this instance alone when
 * Redis cannot answer. The adapter's connections retry every `reconnectMaxDelayMs` at most;
 * when the subscriber is back it subscribes again to every channel this instance currently
 * needs (the adapter's own record, not ioredis's `autoResubscribe`, so rooms joined or left
 * during the outage are right), and when the publisher is back presence is refreshed at once.
 * Lost while Redis is away: every cross-instance message published during the outage (and
 * those in flight when it began), and other instances' counts (reads fall back to this one).
 */
export class RedisHubAdapter implements HubAdapter {
  readonly distributed = true;
  private readonly logger = new Logger('WsHub');
  private readonly prefix: string;
  private readonly heartbeatIntervalMs: number;
  private readonly instanceTimeoutMs: number;
  private readonly initTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly keys: [instances: string, online: string];
  private readonly chAll: string;
  private readonly target: string;
  private readonly secrets: string[] = [];

  private host: HubAdapterHost | undefined;
  private selfId = '';
  private selfPrefix = '\0';
  private pub: Redis | undefined;
  private sub: Redis | undefined;
  private ownsPublisher = false;
  private closed = false;
  private seq = 0;
  /** Highest sequence number applied per origin instance, and when it was last updated. */
  private readonly lastSeq = new Map<string, { seq: number; at: number }>();
  /** Channels this instance needs; the source of truth for (re)subscribing. */
  private readonly wanted = new Set<string>();
  private known = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatRunning = false;
  private viewInFlight: Promise<HubInstanceInfo[] | undefined> | undefined;
  private useScriptForRooms = true;
  private readonly everReady: Record<Role, boolean> = { publisher: false, subscriber: false };
  private outage = false;
  private outageSince = 0;
  private outageFailures = 0;
  private readyWaiters: (() => void)[] = [];
  private readonly detach: (() => void)[] = [];
  private readonly counters = {
    published: 0,
    publishFailures: 0,
    received: 0,
    duplicates: 0,
    malformed: 0,
    reconnects: 0,
  };

  constructor(private readonly options: RedisHubAdapterOptions | HubRedisOptions) {
    const o = options as RedisHubAdapterOptions;
    if (!o || typeof o !== 'object') throw new TypeError('RedisHubAdapter: options are required');
    if (o.client !== undefined) {
      const c = o.client as Partial<Redis> | null;
      if (!c || typeof c.duplicate !== 'function' || typeof c.publish !== 'function') {
        throw new TypeError('RedisHubAdapter: "client" must be an ioredis client');
      }
      if ((c as { isCluster?: boolean }).isCluster) {
        throw new TypeError(
          'RedisHubAdapter: Redis Cluster is not supported; give a client of a single Redis (or its primary)',
        );
      }
    } else if (typeof o.url !== 'string' || o.url.length === 0) {
      throw new TypeError('RedisHubAdapter: needs a "url" or a "client"');
    }
    if (
      o.keyPrefix !== undefined &&
      (typeof o.keyPrefix !== 'string' || o.keyPrefix.length === 0)
    ) {
      throw new TypeError('RedisHubAdapter: "keyPrefix" must be a non-empty string');
    }
    this.prefix = o.keyPrefix ?? DEFAULTS.keyPrefix;
    this.heartbeatIntervalMs = positive(
      'heartbeatIntervalMs',
      o.heartbeatIntervalMs,
      DEFAULTS.heartbeatIntervalMs,
    );
    this.instanceTimeoutMs = positive(
      'instanceTimeoutMs',
      o.instanceTimeoutMs,
      DEFAULTS.instanceTimeoutMs,
    );
    if (this.instanceTimeoutMs <= this.heartbeatIntervalMs) {
      throw new TypeError(
        `RedisHubAdapter: "instanceTimeoutMs" (${this.instanceTimeoutMs}) must exceed "heartbeatIntervalMs" (${this.heartbeatIntervalMs}); three times it is a good choice`,
      );
    }
    this.initTimeoutMs = positive('initTimeoutMs', o.initTimeoutMs, DEFAULTS.initTimeoutMs);
    this.commandTimeoutMs = positive(
      'commandTimeoutMs',
      o.commandTimeoutMs,
      DEFAULTS.commandTimeoutMs,
    );
    this.reconnectMaxDelayMs = positive(
      'reconnectMaxDelayMs',
      o.reconnectMaxDelayMs,
      DEFAULTS.reconnectMaxDelayMs,
    );
    this.keys = [`${this.prefix}:instances`, `${this.prefix}:online`];
    this.chAll = `${this.prefix}:all`;
    if (o.client) {
      const co = (o.client as Redis).options ?? {};
      this.target = `${co.host ?? 'localhost'}:${co.port ?? 6379}`;
      if (co.password) this.secrets.push(co.password);
    } else {
      this.target = describeUrl(o.url!);
      try {
        const u = new URL(o.url!);
        if (u.password) this.secrets.push(u.password, decodeURIComponent(u.password));
      } catch {
        // describeUrl already reported it as unparsable
      }
    }
    if (o.redisOptions?.password) this.secrets.push(o.redisOptions.password);
  }

  // ------------------------------------------------------------------ HubAdapter

  async init(host: HubAdapterHost): Promise<void> {
    if (this.host || this.closed) return;
    this.host = host;
    this.selfId = host.instanceId;
    this.selfPrefix = originPrefix(this.selfId);
    this.wanted.add(this.chAll);
    this.wanted.add(this.instanceChannel(this.selfId));
    this.connect();

    const ready = await this.waitForReady(this.initTimeoutMs);
    if (!ready) {
      this.noteFailure(
        'startup',
        `Redis at ${this.target} not reachable within ${this.initTimeoutMs} ms`,
      );
    } else {
      // Registered and subscribed before the app starts taking connections.
      await Promise.all([this.heartbeat(), this.settled()]);
      this.logger.log(
        `Redis adapter connected to ${this.target} (prefix "${this.prefix}", instance ${this.selfId})`,
      );
    }
    if (!this.closed) {
      this.heartbeatTimer = setInterval(() => this.tick(), this.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  publish(message: HubAdapterMessage): void {
    const pub = this.pub;
    if (this.closed || !pub) return;
    const channels = this.channelsFor(message);
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
    this.want(this.roomChannel(room));
    return this.settled();
  }

  roomRemoved(room: string): void {
    this.unwant(this.roomChannel(room));
  }

  userAdded(userId: string): Promise<void> {
    this.want(this.userChannel(userId));
    return this.settled();
  }

  userRemoved(userId: string): void {
    this.unwant(this.userChannel(userId));
  }

  async clusterOnline(): Promise<number> {
    let total = 0;
    for (const i of await this.instances()) total += i.online;
    return total;
  }

  async instances(): Promise<HubInstanceInfo[]> {
    if (!this.host) return [];
    const view = await this.readView();
    const localOnline = this.host.localOnline;
    if (!view) return [{ id: this.selfId, online: localOnline, lastSeenAt: Date.now() }];
    const mine = view.find((i) => i.id === this.selfId);
    const out = view.filter((i) => i.id !== this.selfId);
    out.push({ id: this.selfId, online: localOnline, lastSeenAt: mine?.lastSeenAt ?? Date.now() });
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    const pub = this.pub;
    const sub = this.sub;
    if (pub && pub.status === 'ready' && this.host) {
      // Leave presence at once rather than after instanceTimeoutMs.
      await this.bounded(pub.eval(LEAVE, 2, ...this.keys, this.selfId)).catch(() => undefined);
    }
    for (const off of this.detach.splice(0)) off();
    const ended: Promise<void>[] = [];
    if (sub) ended.push(this.disconnect(sub));
    if (pub && this.ownsPublisher) ended.push(this.disconnect(pub));
    await Promise.all(ended);
    this.wanted.clear();
    this.lastSeq.clear();
  }

  // --------------------------------------------------------------- extra public API

  /** Counters for monitoring and tests. */
  stats(): RedisHubAdapterStats {
    return {
      ...this.counters,
      subscriptions: this.wanted.size,
      connected: !this.outage && this.bothReady(),
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
    await this.bounded(sub.ping()).catch(() => undefined);
  }

  /** Channel names, for tools and tests. */
  channels(): {
    all: string;
    room(room: string): string;
    user(userId: string): string;
    instance(id: string): string;
  } {
    return {
      all: this.chAll,
      room: (r) => this.roomChannel(r),
      user: (u) => this.userChannel(u),
      instance: (i) => this.instanceChannel(i),
    };
  }

  // -------------------------------------------------------------------- connections

  private connect(): void {
    const o = this.options as RedisHubAdapterOptions;
    const retryStrategy = (times: number): number =>
      Math.min(50 * 2 ** Math.min(times - 1, 16), this.reconnectMaxDelayMs) +
      Math.floor(Math.random() * 100);
    const socketTimeout = Math.max(5_000, 2 * this.heartbeatIntervalMs);
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
    const subOptions: RedisOptions = {
      ...common,
      autoResubscribe: false,
      connectionName: `ws-hub-sub-${this.selfId}`,
    };
    if (o.client) {
      this.pub = o.client;
      this.ownsPublisher = false;
      this.sub = o.client.duplicate(subOptions);
      if (this.pub.status === 'wait') this.pub.connect().catch(() => undefined);
    } else {
      const extra = o.redisOptions ?? {};
      this.pub = new Redis(o.url!, {
        ...extra,
        ...common,
        connectionName: `ws-hub-pub-${this.selfId}`,
      });
      this.ownsPublisher = true;
      this.sub = new Redis(o.url!, { ...extra, ...subOptions });
    }
    this.watch(this.pub, 'publisher');
    this.watch(this.sub, 'subscriber');
    this.sub.on('message', this.onMessage);
  }

  private watch(conn: Redis, role: Role): void {
    const onReady = (): void => this.onReady(role);
    const onError = (err: Error): void => this.noteFailure(`${role} connection`, err);
    const onClose = (): void => this.noteFailure(`${role} connection`, 'connection closed');
    conn.on('ready', onReady);
    conn.on('error', onError);
    conn.on('close', onClose);
    this.detach.push(() => {
      conn.off('ready', onReady);
      conn.off('close', onClose);
      conn.off('error', onError);
      if (role === 'subscriber') conn.off('message', this.onMessage);
      // Keep ioredis from printing "Unhandled error event" for a connection being torn down.
      if (conn !== this.pub || this.ownsPublisher) conn.on('error', () => undefined);
    });
  }

  private onReady(role: Role): void {
    if (this.closed) return;
    if (this.everReady[role]) this.counters.reconnects++;
    this.everReady[role] = true;
    if (role === 'subscriber') this.subscribeAll();
    else if (this.heartbeatTimer) void this.heartbeat(); // re-register presence at once
    if (this.bothReady()) {
      for (const resolve of this.readyWaiters.splice(0)) resolve();
      this.recovered();
    }
  }

  private bothReady(): boolean {
    return this.pub?.status === 'ready' && this.sub?.status === 'ready';
  }

  private waitForReady(timeoutMs: number): Promise<boolean> {
    if (this.bothReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.bothReady());
      };
      this.readyWaiters.push(done);
    });
  }

  /**
   * Closes one of the adapter's own connections and resolves once nothing of it is left. A
   * connection between two attempts has no live socket: ioredis then never emits `end` and
   * leaves its `disconnectTimeout` timer running, so that timer is kept short and waited out.
   */
  private disconnect(conn: Redis): Promise<void> {
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

  // ---------------------------------------------------------------------- channels

  private roomChannel(room: string): string {
    return `${this.prefix}:room:${room}`;
  }

  private userChannel(userId: string): string {
    return `${this.prefix}:user:${userId}`;
  }

  private instanceChannel(instanceId: string): string {
    return `${this.prefix}:inst:${instanceId}`;
  }

  private channelsFor(message: HubAdapterMessage): string[] {
    switch (message.type) {
      case 'broadcast': {
        const rooms = message.rooms;
        if (!rooms) return [this.chAll];
        if (rooms.length === 1) return [this.roomChannel(rooms[0])];
        return [...new Set(rooms)].map((r) => this.roomChannel(r));
      }
      case 'send':
      case 'disconnect': {
        const dot = message.clientId.indexOf('.');
        return dot > 0 ? [this.instanceChannel(message.clientId.slice(0, dot))] : [];
      }
      case 'user':
      case 'disconnect-user':
        return [this.userChannel(message.userId)];
    }
  }

  private want(channel: string): void {
    if (this.closed || this.wanted.has(channel)) return;
    this.wanted.add(channel);
    const sub = this.sub;
    // Not connected: the next 'ready' subscribes to everything wanted.
    if (sub?.status === 'ready') sub.subscribe(channel).catch(this.onSubscribeFailed);
  }

  private unwant(channel: string): void {
    if (this.closed || !this.wanted.delete(channel)) return;
    const sub = this.sub;
    if (sub?.status === 'ready') sub.unsubscribe(channel).catch(this.onSubscribeFailed);
  }

  private subscribeAll(): void {
    const sub = this.sub;
    if (!sub) return;
    const all = [...this.wanted];
    for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) {
      sub.subscribe(...all.slice(i, i + SUBSCRIBE_BATCH)).catch(this.onSubscribeFailed);
    }
  }

  // ---------------------------------------------------------------------- receiving

  private readonly onMessage = (_channel: string, payload: string): void => {
    if (this.closed || payload.startsWith(this.selfPrefix)) return;
    const decoded = decodeMessage(payload);
    if (!decoded) {
      this.counters.malformed++;
      return;
    }
    const last = this.lastSeq.get(decoded.origin);
    if (last === undefined) {
      this.lastSeq.set(decoded.origin, { seq: decoded.seq, at: Date.now() });
    } else if (decoded.seq <= last.seq) {
      this.counters.duplicates++;
      return;
    } else {
      last.seq = decoded.seq;
      last.at = Date.now();
    }
    this.counters.received++;
    try {
      this.host?.applyRemote(decoded.message);
    } catch (err) {
      this.logger.error(
        `applying a message from instance ${decoded.origin} failed: ${(err as Error)?.message}`,
      );
    }
  };

  // ---------------------------------------------------------------------- publishing

  private readonly onPublished = (): void => {
    this.counters.published++;
  };

  private readonly onPublishFailed = (err: unknown): void => {
    this.counters.publishFailures++;
    this.noteFailure('publish', err);
  };

  private readonly onMultiPublishFailed = (err: unknown): void => {
    const message = String((err as Error)?.message ?? '');
    if (this.useScriptForRooms && EVAL_REFUSED.test(message)) {
      // EVAL refused for good (ACL, renamed command, no scripting): publish room by room from
      // now on. Transient errors (OOM, BUSY, LOADING...) are only counted.
      this.useScriptForRooms = false;
      this.logger.warn(
        `Redis refused EVAL (${this.redact(err)}); multi-room broadcasts now use one PUBLISH per room`,
      );
    }
    this.onPublishFailed(err);
  };

  private readonly onSubscribeFailed = (err: unknown): void => {
    this.noteFailure('subscribe', err);
  };

  // ------------------------------------------------------------------------ presence

  private tick(): void {
    if (this.closed) return;
    void this.heartbeat();
    // A PING on the subscriber lets socketTimeout detect a half-open connection.
    if (this.sub?.status === 'ready') this.sub.ping().catch(() => undefined);
  }

  private async heartbeat(): Promise<void> {
    const pub = this.pub;
    const host = this.host;
    if (this.closed || this.heartbeatRunning || !pub || !host || pub.status !== 'ready') return;
    this.heartbeatRunning = true;
    try {
      const reply = await this.bounded(
        pub.eval(
          HEARTBEAT,
          2,
          ...this.keys,
          String(this.instanceTimeoutMs),
          this.selfId,
          String(host.localOnline),
          String(Math.max(10 * this.instanceTimeoutMs, 60_000)),
        ),
      );
      if (reply === TIMEOUT) {
        this.noteFailure('presence', `no answer within ${this.commandTimeoutMs} ms`);
        return;
      }
      if (this.closed) return;
      this.updateKnown(parseView(reply));
      this.recovered();
    } catch (err) {
      this.noteFailure('presence', err);
    } finally {
      this.heartbeatRunning = false;
    }
  }

  /**
   * Reports instances that left the live view, and forgets the sequence numbers of origins
   * that are not live and have been silent for `instanceTimeoutMs` (memory stays bounded by
   * the live instances; a message straddling the cleanup cannot be applied twice).
   */
  private updateKnown(view: HubInstanceInfo[]): void {
    const live = new Set(view.map((i) => i.id));
    for (const id of this.known) {
      if (live.has(id) || id === this.selfId) continue;
      try {
        this.host?.instanceGone?.(id);
      } catch (err) {
        this.logger.warn(`instanceGone(${id}) failed: ${(err as Error)?.message}`);
      }
    }
    const silentSince = Date.now() - this.instanceTimeoutMs;
    for (const [origin, last] of this.lastSeq) {
      if (!live.has(origin) && last.at < silentSince) this.lastSeq.delete(origin);
    }
    this.known = live;
  }

  /**
   * The live instances as Redis sees them, or `undefined` when it cannot answer in time.
   * Concurrent callers (say a busy `/stats` endpoint) share one query.
   */
  private readView(): Promise<HubInstanceInfo[] | undefined> {
    const pub = this.pub;
    if (this.closed || !pub || pub.status !== 'ready') return Promise.resolve(undefined);
    if (!this.viewInFlight) {
      this.viewInFlight = this.queryView(pub).finally(() => {
        this.viewInFlight = undefined;
      });
    }
    return this.viewInFlight;
  }

  private async queryView(pub: Redis): Promise<HubInstanceInfo[] | undefined> {
    try {
      const reply = await this.bounded(
        pub.eval(QUERY, 2, ...this.keys, String(this.instanceTimeoutMs)),
      );
      if (reply === TIMEOUT) {
        this.noteFailure('presence', `no answer within ${this.commandTimeoutMs} ms`);
        return undefined;
      }
      return parseView(reply);
    } catch (err) {
      this.noteFailure('presence', err);
      return undefined;
    }
  }

  // --------------------------------------------------------------------- faults

  private noteFailure(what: string, err: unknown): void {
    if (this.closed) return;
    this.outageFailures++;
    if (this.outage) return;
    this.outage = true;
    this.outageSince = Date.now();
    this.logger.warn(
      `Redis unavailable (${what}: ${this.redact(err)}); cross-instance delivery is paused, ` +
        `local delivery continues; reconnecting in the background`,
    );
  }

  private recovered(): void {
    if (!this.outage || this.closed || !this.bothReady()) return;
    this.outage = false;
    this.logger.log(
      `Redis connection to ${this.target} restored after ${Date.now() - this.outageSince} ms ` +
        `(${this.outageFailures} failures during the outage)`,
    );
    this.outageFailures = 0;
  }

  private redact(err: unknown): string {
    let text = typeof err === 'string' ? err : ((err as Error)?.message ?? String(err));
    text = text.replace(/(rediss?:\/\/)[^@\s/]*@/gi, '$1***@');
    // Redis echoes a refused command's arguments (scripts, payloads): not worth a log line.
    text = text.replace(/,? with args beginning with:[\s\S]*$/, '');
    for (const s of this.secrets) if (s) text = text.split(s).join('***');
    if (text.length > 300) text = text.slice(0, 300) + '...';
    return text;
  }

  /** Races a command against `commandTimeoutMs`; a late rejection is swallowed. */
  private bounded<T>(promise: Promise<T>): Promise<T | typeof TIMEOUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), this.commandTimeoutMs);
      timer.unref();
    });
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** Parses the flat `id, lastSeenMs, online, ...` reply of the presence scripts. */
function parseView(reply: unknown): HubInstanceInfo[] {
  const out: HubInstanceInfo[] = [];
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 2 < reply.length; i += 3) {
    out.push({
      id: String(reply[i]),
      lastSeenAt: Number(reply[i + 1]),
      online: Number(reply[i + 2]) || 0,
    });
  }
  return out;
}

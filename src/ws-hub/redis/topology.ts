import type { MessageFilter } from '../cluster/sequence-filter.js';
import type { Subscriber } from '../cluster/subscription-set.js';
import { assertOptionalPeer } from '../util/optional-peer.js';
import type { ChannelNames } from './channels.js';
import type { PlainPublisher, PublishConnection } from './plain-publisher.js';
import type { PresenceConnection, PresenceKeys } from './presence.js';
import type { RecorderConnection } from './recorder.js';
import type { StoreConnection } from './recovery-store.js';

// ioredis is an optional peer dependency: never imported statically, so that apps without
// Redis need not install it. Whoever loads the Redis adapter (`ws-hub/redis`, or the module's
// `redis` option) fails here at once, with what to install, when it is missing.
export const IOREDIS_FEATURE = "the Redis adapter ('ws-hub/redis', the module's \"redis\" option)";
assertOptionalPeer('ioredis', IOREDIS_FEATURE);

/** The connection that runs the adapter's commands: publishes, presence and recovery scripts. */
type CommandConnection = PublishConnection &
  PresenceConnection &
  RecorderConnection &
  StoreConnection;

/** The subscriber side: the subscription set's commands, and a PING that answers after them. */
interface SubscriberConnection extends Subscriber {
  ping(): Promise<unknown>;
}

export type Role = 'publisher' | 'subscriber';

/** What the topology reports to the adapter. */
export interface ConnectionEvents {
  /** A connection is (again) ready. */
  ready(role: Role): void;
  /** A connection failed or closed. */
  failure(what: string, err: unknown): void;
  /** A message arrived on a subscribed channel. */
  message(channel: string, payload: string): void;
  /** Whether the adapter wants `channel` (a given Redis Cluster client may carry the app's own). */
  wanted(channel: string): boolean;
}

/** The connections of one adapter, once open. */
export interface RedisLinks {
  pub: CommandConnection;
  sub: SubscriberConnection;
}

/**
 * How the adapter reaches Redis: a single Redis (`SingleTopology`: a publisher and a subscriber
 * connection, plain pub/sub) or a Redis Cluster (`ClusterTopology`: one ioredis `Cluster`,
 * sharded pub/sub, every channel and key hash-tagged). Chosen once, from the options
 * (`createTopology`); everything that differs between the two is here.
 */
export interface RedisTopology {
  /** This topology in the adapter's layout (`cluster=on` for Redis Cluster). */
  readonly layout: string;
  /** Times a connection came back after having been ready once. */
  readonly reconnects: number;
  /** The channel names of `prefix` (`streams`: recovery on). */
  channelNames(prefix: string, streams: boolean): ChannelNames;
  /** The presence keys of `prefix`. */
  presenceKeys(prefix: string): PresenceKeys;
  /** The per-origin filter of the inbox. */
  messageFilter(): MessageFilter;
  /** How long an outage must stay quiet before it ends (`OutageLog.quietMs`). */
  readonly outageQuietMs: number;
  /** Publishing without history. */
  plainPublisher(
    onFailed: (what: string, err: unknown) => void,
    redactText: (err: unknown) => string,
  ): PlainPublisher;
  /**
   * Redis Cluster: recorded messages appended as one copy per stream, sharing the id
   * `<idPrefix><seq>`; undefined for a single Redis (one script for all streams).
   */
  recordedCopies(): { idPrefix: string } | undefined;
  /**
   * Loads ioredis (unless a client was given) and opens the connections; they connect at once.
   * Undefined when `stop()` came meanwhile.
   */
  open(instanceId: string): Promise<RedisLinks | undefined>;
  /** Whether every connection is up. */
  bothReady(): boolean;
  /** Resolves true once every connection is ready, false after `timeoutMs` or on `stop()`. */
  waitForReady(timeoutMs: number): Promise<boolean>;
  /** Stops reporting readiness and releases every `waitForReady`; `close()` follows. */
  stop(): void;
  /** Detaches every listener and closes what the adapter created (`channels`: those it wanted). */
  close(channels: readonly string[]): Promise<void>;
}

/** Exponential reconnect delay, capped at `maxMs`, with up to 100 ms of jitter. */
export function reconnectDelay(times: number, maxMs: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 16), maxMs) + Math.floor(Math.random() * 100);
}

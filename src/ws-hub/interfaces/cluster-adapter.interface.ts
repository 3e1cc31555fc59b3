import type { RecoveryStore } from './recovery.interface.js';
import type { Positions } from '../protocol/streams.js';

/**
 * What crosses instances. Frames are serialised once by the publishing instance and carried
 * as the exact text every client receives, so a receiving instance never re-encodes them.
 */
export type HubAdapterMessage =
  | ({ type: 'broadcast'; frame: string; rooms?: string[]; except?: string[] } & Recorded)
  | ({ type: 'send'; clientId: string; frame: string } & Recorded)
  | ({ type: 'user'; userId: string; frame: string } & Recorded)
  | {
      type: 'disconnect';
      clientId: string;
      code: number;
      reason: string;
      /**
       * A takeover (a resume of the client's session elsewhere): the connection id to keep;
       * every other connection with this client id closes.
       */
      keep?: string;
    }
  | { type: 'disconnect-user'; userId: string; code: number; reason: string }
  /**
   * `HubService.revokeUser`: every connection of the user closes with 4441 and its session (with
   * recovery) ends, so it cannot be resumed. Routed like `disconnect-user`.
   */
  | { type: 'revoke-user'; userId: string; reason: string };

/**
 * With the `recovery` option on, messages carry the streams to append them to. An adapter
 * that keeps history (`recoveryStore`) appends and publishes in one step and hands the message
 * back to every instance, the publishing one included, with the positioned frame.
 */
export interface Recorded {
  /** On publish: the streams this message belongs to (`all`, `room:<r>`, `user:<u>`, `client:<id>`). */
  streams?: string[];
  /**
   * On delivery: the frame with its positions, for recovering clients. `mid`: one copy of a
   * message appended as several (one per stream, e.g. Redis Cluster slots), each with its own
   * stream's position; every copy of it has the same `mid` and is delivered.
   */
  positioned?: { text: string; positions: Positions; mid?: string };
  /** On delivery: published by this instance (its plain clients have it already). */
  own?: boolean;
  /** On delivery: another copy of a message delivered already (plain clients had it). */
  again?: boolean;
}

/** One live hub instance, as presence reports it. */
export interface HubInstanceInfo {
  /** Random id the instance picked at startup; prefix of its client ids. */
  id: string;
  /** Clients connected to that instance at its last presence refresh. */
  online: number;
  /** Epoch milliseconds of its last presence refresh. */
  lastSeenAt: number;
}

/** The side of `HubService` an adapter talks to. */
export interface HubAdapterHost {
  /** Id of this instance. */
  readonly instanceId: string;
  /** Clients connected to this instance. */
  readonly localOnline: number;
  /** Applies a message published by another instance to this instance's clients. */
  applyRemote(message: HubAdapterMessage): void;
  /** Clients of a dead instance are gone: lets the host tell its listeners. */
  instanceGone?(instanceId: string): void;
  /**
   * The adapter's subscription came back after a break (its subscriber connection dropped):
   * what was published meanwhile may not have reached this instance.
   */
  resubscribed?(): void;
}

/**
 * Carries hub operations between instances. The hub always delivers to its own clients itself;
 * an adapter only has to reach the others. Every method must return quickly and never throw
 * into the caller: a transport failure is the adapter's to log and count.
 */
export interface HubAdapter {
  /**
   * Whether other instances exist behind this adapter, so that a client id with another
   * instance's prefix may be real. False or absent for single-instance adapters.
   */
  readonly distributed?: boolean;
  /** Connects the adapter; called once when the hub starts. */
  init(host: HubAdapterHost): Promise<void> | void;
  /** Sends a message to every other instance that may have a recipient for it. */
  publish(message: HubAdapterMessage): void;
  /**
   * This instance gained its first member of `room` (subscribe to it). May return a promise
   * that settles once messages for the room published elsewhere will reach this instance; the
   * hub waits for it (it must never reject) before acknowledging a client's `join`.
   */
  roomAdded(room: string): void | Promise<void>;
  /** This instance lost its last member of `room`. */
  roomRemoved(room: string): void;
  /** This instance gained its first connection of `userId` (same contract as `roomAdded`). */
  userAdded(userId: string): void | Promise<void>;
  /** This instance lost its last connection of `userId`. */
  userRemoved(userId: string): void;
  /**
   * With recovery on: a client (`clientId`, possibly a resumed session's id of another
   * instance) is now connected here, so `send`/`disconnect` for it must reach this instance
   * (same contract as `roomAdded`). Optional: single-instance adapters need not implement it.
   */
  clientAdded?(clientId: string): void | Promise<void>;
  /** With recovery on: that client left this instance. */
  clientRemoved?(clientId: string): void;
  /**
   * Settles once every subscription change sent so far is in effect, and everything published
   * before it (to channels this instance was subscribed to) has been handed to `applyRemote`.
   * Optional; never rejects.
   */
  settled?(): Promise<void>;
  /** Connected clients across all live instances. */
  clusterOnline(): Promise<number>;
  /** Live instances, this one included. */
  instances(): Promise<HubInstanceInfo[]>;
  /** Leaves the cluster at once and releases every connection and timer. */
  close(): Promise<void>;
  /**
   * The adapter's history and session store for the `recovery` option; adapters without one
   * cannot run a cluster with recovery (startup fails naming the adapter).
   */
  recoveryStore?(options: HubRecoveryStoreOptions): RecoveryStore;
  /** Adapter counters for monitoring (the metrics and the health indicator read these). */
  stats?(): HubAdapterStats;
}

/**
 * An adapter built by the module at startup rather than given built (the `adapter` option takes
 * either): `useFactory` runs once, when the module's providers are created, and may be async.
 * The `redis` option is sugar for the Redis adapter's factory (`redisAdapterFactory` of
 * `ws-hub/redis`); a backend of your own can be given the same way.
 */
export interface HubAdapterFactory {
  useFactory(): HubAdapter | Promise<HubAdapter>;
}

/** What an adapter's recovery store is configured with (the module's `recovery` option, resolved). */
export interface HubRecoveryStoreOptions {
  historySize: number;
  historyTtlMs: number;
  sessionTtlMs: number;
}

/**
 * What an adapter reports for monitoring: the fields the metrics (`<prefix>adapter_*`) and the
 * health indicator read, each optional (an adapter reports what it knows), and the sections
 * below when it has them. An adapter may add its own fields (`RedisHubAdapterStats`).
 */
export interface HubAdapterStats
  extends Partial<HubAdapterDeliveryStats>, Partial<HubAdapterHistoryStats> {
  /** Whether the adapter reaches its store (false: other instances are out of reach). */
  connected?: boolean;
  /** Messages published and acknowledged. */
  published?: number;
  /** Messages that could not be published (lost for other instances). */
  publishFailures?: number;
  /** Messages from other instances applied here. */
  received?: number;
  /** Channels subscribed to. */
  subscriptions?: number;
  /** Milliseconds since this instance's presence was last refreshed. */
  presenceAgeMs?: number;
  /** Instances of the cluster that disagree with this one on how messages cross (see the README). */
  layoutConflicts?: number;
  /** Times a connection to the store was re-established after having been lost. */
  reconnects?: number;
}

/** What an adapter's inbox counts besides `received` (the cluster toolkit's `Inbox`). */
export interface HubAdapterDeliveryStats {
  /** Extra copies of a multi-room broadcast, dropped so that each client gets it once. */
  duplicates: number;
  /** Payloads that were not ws-hub messages (ignored). */
  malformed: number;
}

/** With recovery on, an adapter that keeps history (`recoveryStore`): its history counters. */
export interface HubAdapterHistoryStats {
  /** Messages appended to their streams' history and published. */
  historyWrites: number;
  /** Messages whose history write failed or timed out (a tombstone follows). */
  historyFailures: number;
  /** Streams waiting for a tombstone (the store unreachable since they lost a message). */
  gapsPending: number;
  /** Tombstones written. */
  gapsMarked: number;
}

import type { HubAdapterStats } from '../interfaces/cluster-adapter.interface.js';
import type { InboxCounters } from '../cluster/inbox.js';
import type { RecorderStats } from './recorder.js';

/** Counters of the Redis adapter (see `RedisHubAdapter.stats()`). */
export interface RedisHubAdapterStats extends HubAdapterStats, Partial<RecorderStats> {
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
  /**
   * Milliseconds since this instance's presence was last refreshed in Redis (since startup
   * when it never was); undefined before `init`.
   */
  presenceAgeMs?: number;
  /** Live instances on the same prefix that name channels or keys otherwise (see the README). */
  layoutConflicts: number;
}

/** The adapter's plain counters. */
export interface AdapterCounters extends InboxCounters {
  published: number;
  publishFailures: number;
}

/** Assembles `stats()`: the history counters only when recovery is on. */
export function adapterStats(
  counters: AdapterCounters,
  extra: {
    reconnects: number;
    subscriptions: number;
    connected: boolean;
    presenceAgeMs: number | undefined;
    layoutConflicts: number;
    recorder: RecorderStats | undefined;
  },
): RedisHubAdapterStats {
  const { recorder, ...rest } = extra;
  const stats: RedisHubAdapterStats = { ...counters, ...rest };
  if (stats.presenceAgeMs === undefined) delete stats.presenceAgeMs;
  return recorder ? { ...stats, ...recorder } : stats;
}

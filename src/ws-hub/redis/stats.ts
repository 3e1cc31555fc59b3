import type {
  HubAdapterDeliveryStats,
  HubAdapterHistoryStats,
  HubAdapterStats,
} from '../interfaces/cluster-adapter.interface.js';

/** Counters of the Redis adapter (see `RedisHubAdapter.stats()`); the history ones with recovery on. */
export interface RedisHubAdapterStats extends HubAdapterStats, Partial<HubAdapterHistoryStats> {
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

/** The adapter's plain counters (the inbox's among them). */
interface AdapterCounters extends HubAdapterDeliveryStats {
  published: number;
  publishFailures: number;
  received: number;
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
    recorder: HubAdapterHistoryStats | undefined;
  },
): RedisHubAdapterStats {
  const { recorder, ...rest } = extra;
  const stats: RedisHubAdapterStats = { ...counters, ...rest };
  if (stats.presenceAgeMs === undefined) delete stats.presenceAgeMs;
  return recorder ? { ...stats, ...recorder } : stats;
}

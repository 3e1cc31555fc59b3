import type {
  HubAdapterMessage,
  HubRecoveryStoreOptions,
} from '../interfaces/cluster-adapter.interface.js';
import type { ChannelNames } from './channels.js';
import { Recorder, type RecorderConnection } from './recorder.js';
import { RedisRecoveryStore, type StoreConnection } from './recovery-store.js';
import { sessionTouchIntervalMs } from '../options/defaults.js';
import { randomEpochs, StreamKeys } from './stream-keys.js';

/** What recovery needs of the adapter. */
interface RecoveryLink {
  /** The publisher connection, once it exists. */
  pub(): (RecorderConnection & StoreConnection) | undefined;
  subscriberGeneration(): number;
  apply(message: HubAdapterMessage): void;
  onFailed(what: string, err: unknown): void;
  /** Redis Cluster: the prefix of the ids copies of a message share (`RedisTopology.recordedCopies`). */
  redisCluster?: { idPrefix: string };
}

/** The recorder (publish scripts) and the store (history reads, sessions) of one adapter. */
export function createRedisRecovery(
  names: ChannelNames,
  options: HubRecoveryStoreOptions,
  commandTimeoutMs: number,
  link: RecoveryLink,
): { recorder: Recorder; store: RedisRecoveryStore } {
  const keys = new StreamKeys(names);
  // A stream's epoch and offset live historyTtlMs past its last write, or past the last touch
  // of an instance with a recovering client in it (a release touches the client's streams too,
  // so they outlive its session: sessionTtlMs <= historyTtlMs).
  const touchMs = sessionTouchIntervalMs(options.sessionTtlMs);
  const metaTtlMs = options.historyTtlMs;
  const recorder = new Recorder({
    conn: link.pub,
    subscriberGeneration: link.subscriberGeneration,
    keys,
    epochs: randomEpochs,
    limits: {
      historySize: String(options.historySize),
      historyTtlMs: String(options.historyTtlMs),
      metaTtlMs: String(metaTtlMs),
    },
    timeoutMs: commandTimeoutMs,
    apply: link.apply,
    onFailed: link.onFailed,
    redisCluster: link.redisCluster,
  });
  // Reads and session checks may take longer than a publish: a resume waits for them anyway.
  const timeoutMs = Math.max(2_000, commandTimeoutMs);
  const store = new RedisRecoveryStore(link.pub, keys, options, timeoutMs, metaTtlMs, touchMs);
  return { recorder, store };
}

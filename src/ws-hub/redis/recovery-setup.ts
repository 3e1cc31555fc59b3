import type {
  HubAdapterMessage,
  HubRecoveryStoreOptions,
} from '../interfaces/cluster-adapter.interface.js';
import type { ChannelNames } from './channels.js';
import { Recorder, type RecorderConnection } from './recorder.js';
import { RedisRecoveryStore, type StoreConnection } from './recovery-store.js';
import { EpochSource, META_TTL_MIN_MS, StreamKeys } from './stream-keys.js';

/** What recovery needs of the adapter. */
export interface RecoveryLink {
  /** The publisher connection, once it exists. */
  pub(): (RecorderConnection & StoreConnection) | undefined;
  subscriberGeneration(): number;
  apply(message: HubAdapterMessage): void;
  onFailed(what: string, err: unknown): void;
  /** Cluster mode: the prefix of message ids (this instance's id and a colon). */
  cluster?: { idPrefix: string };
}

/** The recorder (publish scripts) and the store (history reads, sessions) of one adapter. */
export function createRedisRecovery(
  names: ChannelNames,
  options: HubRecoveryStoreOptions,
  commandTimeoutMs: number,
  link: RecoveryLink,
): { recorder: Recorder; store: RedisRecoveryStore } {
  const keys = new StreamKeys(names);
  const recorder = new Recorder({
    conn: link.pub,
    subscriberGeneration: link.subscriberGeneration,
    keys,
    epochs: new EpochSource(),
    limits: {
      historySize: String(options.historySize),
      historyTtlMs: String(options.historyTtlMs),
      metaTtlMs: String(Math.max(options.historyTtlMs, META_TTL_MIN_MS)),
    },
    timeoutMs: commandTimeoutMs,
    apply: link.apply,
    onFailed: link.onFailed,
    cluster: link.cluster,
  });
  // Reads and session checks may take longer than a publish: a resume waits for them anyway.
  const timeoutMs = Math.max(2_000, commandTimeoutMs);
  const store = new RedisRecoveryStore(link.pub, keys, options, timeoutMs, !!link.cluster);
  return { recorder, store };
}

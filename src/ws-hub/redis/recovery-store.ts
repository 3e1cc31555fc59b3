import type { HubRecoveryStoreOptions } from '../interfaces/cluster-adapter.interface.js';
import type {
  RecoveryStore,
  ResumeOutcome,
  StreamHistory,
} from '../interfaces/recovery.interface.js';
import type { StreamPosition } from '../protocol/streams.js';
import { TIMEOUT, withTimeout } from './connections.js';
import { redact } from './outage.js';
import { parseRead, readArgs, userField, type StreamKeys } from './stream-keys.js';
import { CREATE_SESSION, READ_STREAM, RESUME_SESSION } from './stream-scripts.js';

/** The side of the publisher connection the store uses. */
export interface StoreConnection {
  readonly status: string;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  pipeline(): { pexpire(key: string, ms: number): unknown; exec(): Promise<unknown> };
}

/** Session TTL refreshes sent in one pipeline. */
const TOUCH_BATCH = 1_000;

/** Client ids that cannot be a session's (a forged credential): never looked up. */
const UNSAFE_ID = /[{}]/;

/**
 * The Redis recovery store: history reads and sessions, on the adapter's publisher
 * connection (appending is the adapter's publish script). Every call fails fast when Redis is
 * not connected and gives up after `timeoutMs`; the hub then closes the resuming client with
 * 1013 and it tries again. Credentials and hashes are never logged.
 */
export class RedisRecoveryStore implements RecoveryStore {
  /** A connected client's session lives this long past its last refresh (`touch`). */
  readonly liveSessionTtlMs: number;
  private closed = false;

  constructor(
    private readonly conn: () => StoreConnection | undefined,
    private readonly keys: StreamKeys,
    private readonly options: HubRecoveryStoreOptions,
    private readonly timeoutMs: number,
    /** Cluster mode: sessions live in different slots, so no pipelines across them. */
    private readonly cluster = false,
  ) {
    // The hub touches every sessionTtlMs / 3 (at least every second): a session outlives a
    // crash of its instance by at least sessionTtlMs.
    this.liveSessionTtlMs =
      options.sessionTtlMs + Math.max(1_000, options.sessionTtlMs / 3) + 1_000;
  }

  async read(stream: string, since: StreamPosition | undefined): Promise<StreamHistory> {
    const reply = await this.run(
      READ_STREAM,
      2,
      this.keys.meta(stream),
      this.keys.history(stream),
      ...readArgs(since),
    );
    return parseRead(stream, since, reply, this.options.historyTtlMs);
  }

  async createSession(clientId: string, userId: string | undefined, hash: string): Promise<void> {
    await this.run(
      CREATE_SESSION,
      1,
      this.keys.session(clientId),
      hash,
      userField(userId),
      String(this.liveSessionTtlMs),
    );
  }

  async resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
  ): Promise<ResumeOutcome> {
    if (UNSAFE_ID.test(clientId)) return 'unknown';
    const outcome = await this.run(
      RESUME_SESSION,
      1,
      this.keys.session(clientId),
      hash,
      userField(userId),
      newHash,
      String(this.liveSessionTtlMs),
    );
    if (outcome === 'ok' || outcome === 'mismatch' || outcome === 'wrong-user') return outcome;
    return 'unknown';
  }

  release(clientId: string): void {
    const conn = this.ready();
    conn?.pexpire(this.keys.session(clientId), this.options.sessionTtlMs).catch(() => undefined);
  }

  touch(clientIds: string[]): void {
    const conn = this.ready();
    if (!conn) return;
    if (this.cluster) {
      // One PEXPIRE each: ioredis routes each to its slot (and auto-pipelines per node).
      const ttl = this.liveSessionTtlMs;
      for (const id of clientIds) conn.pexpire(this.keys.session(id), ttl).catch(() => undefined);
      return;
    }
    for (let i = 0; i < clientIds.length; i += TOUCH_BATCH) {
      const p = conn.pipeline();
      for (const id of clientIds.slice(i, i + TOUCH_BATCH)) {
        p.pexpire(this.keys.session(id), this.liveSessionTtlMs);
      }
      p.exec().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private ready(): StoreConnection | undefined {
    const conn = this.conn();
    return !this.closed && conn?.status === 'ready' ? conn : undefined;
  }

  private async run(script: string, numKeys: number, ...args: string[]): Promise<unknown> {
    const conn = this.ready();
    if (!conn) throw new Error('Redis is not connected');
    let reply: unknown;
    try {
      reply = await withTimeout(conn.eval(script, numKeys, ...args), this.timeoutMs);
    } catch (err) {
      // Never let a command's arguments (hashes) reach a log line through an error text: the
      // original error (and so a `cause`) is left behind on purpose.
      // oxlint-disable-next-line preserve-caught-error
      throw new Error(`Redis: ${redact(err, [])}`);
    }
    if (reply === TIMEOUT) throw new Error(`Redis did not answer within ${this.timeoutMs} ms`);
    return reply;
  }
}

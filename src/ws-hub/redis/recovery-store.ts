import type { HubRecoveryStoreOptions } from '../interfaces/cluster-adapter.interface.js';
import type {
  RecoveryStore,
  ResumeResult,
  StreamHistory,
  StreamTop,
} from '../interfaces/recovery.interface.js';
import type { StreamPosition } from '../protocol/streams.js';
import { newEpoch } from '../util/random.js';
import { TIMEOUT, withTimeout } from '../cluster/command-timeout.js';
import { redact } from './outage.js';
import { parseRead, readArgs, userField, type StreamKeys } from './stream-keys.js';
import {
  ADD_ROOM,
  CREATE_SESSION,
  READ_STREAM,
  RELEASE_SESSION,
  RENEW_EPOCH,
  RESUME_SESSION,
} from './stream-scripts.js';

/** The side of the publisher connection the store uses. */
export interface StoreConnection {
  readonly status: string;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
  del(...keys: string[]): Promise<unknown>;
}

/** Client ids that cannot be a session's (a forged credential): never looked up. */
const UNSAFE_ID = /[{}]/;

/**
 * The Redis recovery store: history reads and sessions, on the adapter's publisher
 * connection (appending is the adapter's publish script). Every call fails fast when Redis is
 * not connected and gives up after `timeoutMs`; the hub then closes the resuming client with
 * 1013 and it tries again. Credentials and hashes are never logged.
 *
 * A stream's meta hash (its epoch and newest offset) lives `metaTtlMs` past its last write or
 * the last `touch` by an instance with a recovering client in it; a connected client's session
 * `liveSessionTtlMs` past the last `touch`, a released one `sessionTtlMs`.
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
    private readonly metaTtlMs: number,
    private readonly touchIntervalMs: number,
  ) {
    // A session outlives a crash of its instance by at least sessionTtlMs.
    this.liveSessionTtlMs = options.sessionTtlMs + touchIntervalMs + 1_000;
  }

  async tops(streams: readonly string[]): Promise<StreamTop[]> {
    // A read of nothing (the stream-read script) rather than HMGET: a stream another Redis
    // process wrote reads as none.
    return Promise.all(
      streams.map(async (name) => {
        const { stream, epoch, top } = await this.read(name, undefined, 0);
        return { stream, epoch, top };
      }),
    );
  }

  async read(
    stream: string,
    since: StreamPosition | undefined,
    until: number,
  ): Promise<StreamHistory> {
    const reply = await this.run(
      READ_STREAM,
      2,
      this.keys.meta(stream),
      this.keys.history(stream),
      ...readArgs(since, until),
    );
    return parseRead(stream, since, reply, this.options.historyTtlMs, until);
  }

  async createSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    holder: string,
  ): Promise<void> {
    await this.run(
      CREATE_SESSION,
      2,
      this.keys.session(clientId),
      this.keys.sessionRooms(clientId),
      hash,
      userField(userId),
      holder,
      String(this.liveSessionTtlMs),
    );
  }

  async resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
    holder: string,
  ): Promise<ResumeResult> {
    if (UNSAFE_ID.test(clientId)) return { outcome: 'unknown' };
    const reply = await this.run(
      RESUME_SESSION,
      2,
      this.keys.session(clientId),
      this.keys.sessionRooms(clientId),
      hash,
      userField(userId),
      newHash,
      holder,
      String(this.liveSessionTtlMs),
    );
    const list = Array.isArray(reply) ? reply.map(String) : [];
    const outcome = list[0];
    if (outcome === 'mismatch' || outcome === 'wrong-user') return { outcome };
    if (outcome !== 'ok') return { outcome: 'unknown' };
    // Each room's value: `1` (joined by the client) or `0` (by the server), then, once known,
    // ` <offset> <epoch>`: where it started in the room's stream.
    const rooms = new Map<string, boolean>();
    const floors = new Map<string, StreamPosition>();
    for (let i = 2; i + 1 < list.length; i += 2) {
      const [flag, offset, epoch] = list[i + 1].split(' ');
      rooms.set(list[i], flag === '1');
      if (offset !== undefined)
        floors.set(list[i], { offset: Number(offset) || 0, epoch: epoch ?? '' });
    }
    return { outcome: 'ok', rooms, floors, previousHolder: list[1] || undefined };
  }

  release(clientId: string, holder: string): void {
    this.quietly(
      RELEASE_SESSION,
      2,
      this.keys.session(clientId),
      this.keys.sessionRooms(clientId),
      holder,
      String(this.options.sessionTtlMs),
    );
  }

  touch(clientIds: readonly string[], streams: readonly string[]): void {
    const conn = this.ready();
    if (!conn) return;
    // One PEXPIRE each: ioredis routes each to its slot on a Redis Cluster.
    const ttl = this.liveSessionTtlMs;
    for (const id of clientIds) {
      conn.pexpire(this.keys.session(id), ttl).catch(() => undefined);
      conn.pexpire(this.keys.sessionRooms(id), ttl).catch(() => undefined);
    }
    for (const stream of streams) {
      conn.pexpire(this.keys.meta(stream), this.metaTtlMs).catch(() => undefined);
    }
  }

  async addRoom(
    clientId: string,
    room: string,
    byClient: boolean,
    floor?: StreamPosition,
  ): Promise<void> {
    try {
      await this.run(
        ADD_ROOM,
        2,
        this.keys.session(clientId),
        this.keys.sessionRooms(clientId),
        room,
        (byClient ? '1' : '0') + (floor ? ` ${floor.offset} ${floor.epoch}` : ''),
        String(this.liveSessionTtlMs),
      );
    } catch {
      // Redis away: the session does not have the room; a resume then rejoins it from its
      // top (recovered: false for it), which is the truth.
    }
  }

  removeRoom(clientId: string, room: string): void {
    this.ready()
      ?.hdel(this.keys.sessionRooms(clientId), room)
      .catch(() => undefined);
  }

  async deleteSession(clientId: string): Promise<void> {
    const conn = this.ready();
    if (!conn) return;
    await this.bounded(
      conn.del(this.keys.session(clientId), this.keys.sessionRooms(clientId)),
    ).catch(() => undefined);
  }

  /** A rolled-back stream gets a new epoch (see `RENEW_EPOCH`). Never rejects. */
  async renewEpoch(stream: string, epoch: string, throughOffset: number): Promise<void> {
    await this.run(
      RENEW_EPOCH,
      2,
      this.keys.meta(stream),
      this.keys.history(stream),
      epoch,
      String(throughOffset),
      newEpoch(),
    ).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** How often the hub touches: a session is refreshed at least this often while connected. */
  get touchEveryMs(): number {
    return this.touchIntervalMs;
  }

  private ready(): StoreConnection | undefined {
    const conn = this.conn();
    return !this.closed && conn?.status === 'ready' ? conn : undefined;
  }

  private quietly(script: string, numKeys: number, ...args: string[]): void {
    this.ready()
      ?.eval(script, numKeys, ...args)
      .catch(() => undefined);
  }

  private async bounded<T>(command: Promise<T>): Promise<T> {
    const reply = await withTimeout(command, this.timeoutMs);
    if (reply === TIMEOUT) throw new Error(`Redis did not answer within ${this.timeoutMs} ms`);
    return reply;
  }

  private async run(script: string, numKeys: number, ...args: string[]): Promise<unknown> {
    const conn = this.ready();
    if (!conn) throw new Error('Redis is not connected');
    try {
      return await this.bounded(conn.eval(script, numKeys, ...args));
    } catch (err) {
      // Never let a command's arguments (hashes) reach a log line through an error text: the
      // original error (and so a `cause`) is left behind on purpose.
      // oxlint-disable-next-line preserve-caught-error
      throw new Error(`Redis: ${redact(err, [])}`);
    }
  }
}

import type { Positions, StreamPosition } from '../protocol/streams.js';

/** One message in a stream's history. */
export interface HistoryEntry {
  /** The positioned frame as appended (its `pos` names every stream it was appended to). */
  text: string;
  /** Its positions in every stream it was appended to (several for a multi-room broadcast). */
  positions: Positions;
  /** When it was appended, in milliseconds (fractional: strictly increasing per store). */
  at: number;
  /** Client ids that must not get it (the broadcast's `except`). */
  except?: string[];
  /**
   * The message's id across streams when its copies were appended separately (a multi-room
   * broadcast over several Redis Cluster slots): the replay sends it once.
   */
  id?: string;
}

/** A stream's epoch and newest offset. */
export interface StreamTop {
  stream: string;
  /** The stream's epoch now ('' when it has none: no message since its history was lost). */
  epoch: string;
  /** Offset of the newest message (0 for a stream that never had one in this epoch). */
  top: number;
}

/** What a stream holds after a position. */
export interface StreamHistory extends StreamTop {
  /** Entries after the asked position up to the asked end, oldest first. */
  entries: HistoryEntry[];
  /**
   * Whether `entries` are exactly what came after the asked position: false when the epoch
   * changed, or some were trimmed (history size), expired (history TTL) or lost (a tombstone).
   */
  complete: boolean;
}

/** Outcome of presenting a resume credential. */
export type ResumeOutcome = 'ok' | 'unknown' | 'mismatch' | 'wrong-user';

/** A session resumed (`outcome: 'ok'`), or why not. */
export interface ResumeResult {
  outcome: ResumeOutcome;
  /** The session's rooms, with whether the client joined each itself (`true`) or the server did. */
  rooms?: Map<string, boolean>;
  /**
   * Where the client started in each room's stream when it joined (recorded by `addRoom`): a
   * resume never reads a room's history from before that.
   */
  floors?: Map<string, StreamPosition>;
  /** The connection that held the session before (to close: it was replaced), if any. */
  previousHolder?: string;
}

/**
 * Where streams' history and resumable sessions live: memory on one instance, Redis with the
 * Redis adapter. Appending is the adapter's job on a cluster (it must be atomic with the
 * publish), so this interface only reads history and keeps sessions.
 *
 * A session is held by one connection at a time (`holder`, the connection's id): it cannot
 * expire while held, and a resume from another connection takes it over.
 */
export interface RecoveryStore {
  /** The epoch and newest offset of each stream, in order. */
  tops(streams: readonly string[]): Promise<StreamTop[]>;
  /**
   * What `stream` holds after `since`, up to offset `until` (a top read before: what is newer
   * reaches the reader live), complete when every offset in between is there, in `since`'s
   * epoch. No `since`: nothing, only the current top.
   */
  read(stream: string, since: StreamPosition | undefined, until: number): Promise<StreamHistory>;
  /** Records a new session of `clientId` (`userId` when authenticated), held by `holder`. */
  createSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    holder: string,
  ): Promise<void>;
  /**
   * Checks a presented secret against the session of `clientId` and, when it matches, replaces
   * it with `newHash` and hands the session to `holder`, in the same step (a credential works
   * once).
   */
  resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
    holder: string,
  ): Promise<ResumeResult>;
  /** `holder` disconnected: if it still holds the session, it stays resumable for `sessionTtlMs`. */
  release(clientId: string, holder: string): void;
  /** Keeps the sessions of connected clients, and the streams they are in, alive. */
  touch(clientIds: readonly string[], streams: readonly string[]): void;
  /**
   * The session of `clientId` is in `room` (`byClient`: its own join), from `floor` on (its
   * position in the room's stream when it joined, once known: recorded again). Never rejects.
   */
  addRoom(clientId: string, room: string, byClient: boolean, floor?: StreamPosition): Promise<void>;
  /** The session of `clientId` left `room`. */
  removeRoom(clientId: string, room: string): void;
  /** Ends a session at once (revoked): it cannot be resumed. Never rejects. */
  deleteSession(clientId: string): Promise<void>;
  /**
   * Optional, for a store shared by instances (the Redis one has it): gives `stream` a new epoch
   * if it is still at `epoch` with its newest offset at or below `throughOffset` (it was rolled
   * back, by a failover or a restart from an old snapshot, and an offset is being reused).
   * Never rejects.
   */
  renewEpoch?(stream: string, epoch: string, throughOffset: number): Promise<void>;
  close(): Promise<void>;
}

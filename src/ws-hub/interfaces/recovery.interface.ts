import type { Positions, StreamPosition } from '../protocol/streams.js';

/** One message in a stream's history. */
export interface HistoryEntry {
  /** The positioned frame, exactly as live recovering clients got it. */
  text: string;
  /** Its positions in every stream it was appended to (several for a multi-room broadcast). */
  positions: Positions;
  /** Epoch milliseconds when it was appended (fractional: strictly increasing per store). */
  at: number;
  /** Client ids that must not get it (the broadcast's `except`). */
  except?: string[];
  /**
   * The message's id across streams when its copies were appended separately (a multi-room
   * broadcast over several Redis Cluster slots): the replay sends it once.
   */
  id?: string;
}

/** What a stream holds after a position. */
export interface StreamHistory {
  stream: string;
  /** The stream's epoch now. */
  epoch: string;
  /** Offset of the newest message (0 for a stream that never had one in this epoch). */
  top: number;
  /** Entries after the asked position, oldest first. */
  entries: HistoryEntry[];
  /**
   * Whether `entries` are exactly what came after the asked position: false when the epoch
   * changed, or some were trimmed (history size) or expired (history TTL).
   */
  complete: boolean;
}

/** Outcome of presenting a resume credential. */
export type ResumeOutcome = 'ok' | 'unknown' | 'mismatch' | 'wrong-user';

/**
 * Where streams' history and resumable sessions live: memory on one instance, Redis with the
 * Redis adapter. Appending is the adapter's job on a cluster (it must be atomic with the
 * publish), so this interface only reads history and keeps sessions.
 */
export interface RecoveryStore {
  /** Everything after `since` in `stream` (no `since`: nothing, only the current top). */
  read(stream: string, since: StreamPosition | undefined): Promise<StreamHistory>;
  /** Records a new session of `clientId` (`userId` when authenticated) with its secret's hash. */
  createSession(clientId: string, userId: string | undefined, hash: string): Promise<void>;
  /**
   * Checks a presented secret against the session of `clientId` and, when it matches, replaces
   * it with `newHash` in the same step (a credential works once).
   */
  resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
  ): Promise<ResumeOutcome>;
  /** The session's client disconnected: it stays resumable for `sessionTtlMs` from now. */
  release(clientId: string): void;
  /** Keeps the sessions of connected clients alive (called periodically). */
  touch(clientIds: string[]): void;
  close(): Promise<void>;
}

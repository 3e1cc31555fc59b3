import type {
  RecoveryStore,
  ResumeOutcome,
  StreamHistory,
} from '../interfaces/recovery.interface.js';
import { sameHash } from './credentials.js';
import { MemoryHistory } from './memory-history.js';
import type { StreamPosition } from '../protocol/streams.js';

interface Session {
  userId: string | undefined;
  hash: string;
  /** When a disconnected session stops being resumable; undefined while connected. */
  expiresAtMs: number | undefined;
}

/**
 * The single-instance recovery store: history and sessions in this process's memory (a
 * restart loses both, and clients learn it as `recovered: false`). Memory is bounded by
 * `historySize` entries per stream, streams idle past `historyTtlMs` and sessions past
 * `sessionTtlMs`, all swept every `sweepIntervalMs`.
 */
export class MemoryRecoveryStore implements RecoveryStore {
  readonly history: MemoryHistory;
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    historySize: number,
    historyTtlMs: number,
    private readonly sessionTtlMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.history = new MemoryHistory(historySize, historyTtlMs, nowMs);
    this.timer = setInterval(() => this.sweep(), Math.min(historyTtlMs, sessionTtlMs, 60_000));
    this.timer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async read(stream: string, since: StreamPosition | undefined): Promise<StreamHistory> {
    return this.history.read(stream, since);
  }

  async createSession(clientId: string, userId: string | undefined, hash: string): Promise<void> {
    this.sessions.set(clientId, { userId, hash, expiresAtMs: undefined });
  }

  async resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
  ): Promise<ResumeOutcome> {
    const s = this.sessions.get(clientId);
    if (!s || (s.expiresAtMs !== undefined && s.expiresAtMs <= this.nowMs())) return 'unknown';
    if (!sameHash(s.hash, hash)) return 'mismatch';
    if (s.userId !== userId) return 'wrong-user';
    s.hash = newHash;
    s.expiresAtMs = undefined;
    return 'ok';
  }

  /** Whether `clientId` has a session that can still be resumed (or is connected). */
  isResumable(clientId: string): boolean {
    const s = this.sessions.get(clientId);
    return s !== undefined && (s.expiresAtMs === undefined || s.expiresAtMs > this.nowMs());
  }

  release(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (s) s.expiresAtMs = this.nowMs() + this.sessionTtlMs;
  }

  touch(): void {
    // Connected sessions do not expire here.
  }

  sweep(): void {
    const now = this.nowMs();
    for (const [id, s] of this.sessions) {
      if (s.expiresAtMs !== undefined && s.expiresAtMs <= now) this.sessions.delete(id);
    }
    this.history.sweep();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.sessions.clear();
    this.history.clear();
  }
}

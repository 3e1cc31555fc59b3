import type {
  RecoveryStore,
  ResumeResult,
  StreamHistory,
  StreamTop,
} from '../interfaces/recovery.interface.js';
import { clientStream, roomStream, userStream, ALL_STREAM } from '../protocol/streams.js';
import type { StreamPosition } from '../protocol/streams.js';
import { monotonicNowMs } from '../util/clock.js';
import { sameHash } from './credentials.js';
import { MemoryHistory } from './memory-history.js';

interface Session {
  userId: string | undefined;
  hash: string;
  /** The connection that holds the session, while one does. */
  holder: string | undefined;
  /** When a released session stops being resumable; undefined while held. */
  expiresAtMs: number | undefined;
  /** Its rooms, with whether the client joined each itself. */
  rooms: Map<string, boolean>;
  /** Where it started in each room's stream (see `RecoveryStore.addRoom`). */
  floors: Map<string, StreamPosition>;
}

/**
 * The single-instance recovery store: history and sessions in this process's memory (a
 * restart loses both, and clients learn it as `recovered: false`). Every session keeps the
 * streams it is in alive (`MemoryHistory.retain`), and nothing else has history: memory is
 * bounded by the sessions (connected, or released within `sessionTtlMs`), `historySize`
 * entries per stream and `historyTtlMs`, swept every `sweepIntervalMs`. Times are monotonic.
 */
export class MemoryRecoveryStore implements RecoveryStore {
  readonly history: MemoryHistory;
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    historySize: number,
    historyTtlMs: number,
    private readonly sessionTtlMs: number,
    private readonly nowMs: () => number = monotonicNowMs,
  ) {
    this.history = new MemoryHistory(historySize, historyTtlMs, nowMs);
    this.timer = setInterval(() => this.sweep(), Math.min(historyTtlMs, sessionTtlMs, 60_000));
    this.timer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async tops(streams: readonly string[]): Promise<StreamTop[]> {
    return streams.map((s) => this.history.top(s));
  }

  async read(
    stream: string,
    since: StreamPosition | undefined,
    until: number,
  ): Promise<StreamHistory> {
    return this.history.read(stream, since, until);
  }

  async createSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    holder: string,
  ): Promise<void> {
    this.drop(clientId);
    const session: Session = {
      userId,
      hash,
      holder,
      expiresAtMs: undefined,
      rooms: new Map(),
      floors: new Map(),
    };
    this.sessions.set(clientId, session);
    for (const stream of baseStreams(clientId, userId)) this.history.retain(stream);
  }

  async resumeSession(
    clientId: string,
    userId: string | undefined,
    hash: string,
    newHash: string,
    holder: string,
  ): Promise<ResumeResult> {
    const s = this.live(clientId);
    if (!s) return { outcome: 'unknown' };
    if (!sameHash(s.hash, hash)) return { outcome: 'mismatch' };
    if (s.userId !== userId) return { outcome: 'wrong-user' };
    const previousHolder = s.expiresAtMs === undefined ? s.holder : undefined;
    s.hash = newHash;
    s.holder = holder;
    s.expiresAtMs = undefined;
    return { outcome: 'ok', rooms: new Map(s.rooms), floors: new Map(s.floors), previousHolder };
  }

  /** Whether `clientId` has a session that is held or can still be resumed. */
  isResumable(clientId: string): boolean {
    return this.live(clientId) !== undefined;
  }

  release(clientId: string, holder: string): void {
    const s = this.sessions.get(clientId);
    if (s && s.holder === holder && s.expiresAtMs === undefined) {
      s.expiresAtMs = this.nowMs() + this.sessionTtlMs;
    }
  }

  touch(): void {
    // Held sessions do not expire here, nor do the streams they are in.
  }

  async addRoom(
    clientId: string,
    room: string,
    byClient: boolean,
    floor?: StreamPosition,
  ): Promise<void> {
    const s = this.sessions.get(clientId);
    if (!s) return;
    if (!s.rooms.has(room)) this.history.retain(roomStream(room));
    s.rooms.set(room, byClient);
    if (floor) s.floors.set(room, floor);
  }

  removeRoom(clientId: string, room: string): void {
    const s = this.sessions.get(clientId);
    s?.floors.delete(room);
    if (s?.rooms.delete(room)) this.history.release(roomStream(room));
  }

  async deleteSession(clientId: string): Promise<void> {
    this.drop(clientId);
  }

  sweep(): void {
    const now = this.nowMs();
    for (const [id, s] of this.sessions) {
      if (s.expiresAtMs !== undefined && s.expiresAtMs <= now) this.drop(id);
    }
    this.history.sweep();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.sessions.clear();
    this.history.clear();
  }

  private live(clientId: string): Session | undefined {
    const s = this.sessions.get(clientId);
    if (!s || (s.expiresAtMs !== undefined && s.expiresAtMs <= this.nowMs())) return undefined;
    return s;
  }

  private drop(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (!s) return;
    this.sessions.delete(clientId);
    for (const stream of baseStreams(clientId, s.userId)) this.history.release(stream);
    for (const room of s.rooms.keys()) this.history.release(roomStream(room));
  }
}

/** The streams every session is in: all, its own, its user's. */
function baseStreams(clientId: string, userId: string | undefined): string[] {
  const streams = [ALL_STREAM, clientStream(clientId)];
  if (userId !== undefined) streams.push(userStream(userId));
  return streams;
}

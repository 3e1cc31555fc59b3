import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import { TestClient, type Frame } from './client.js';

export const PROTOCOLS = ['ws-hub.v1', 'ws-hub.recovery'];

/** `[offset, epoch]` per stream, as frames carry them. */
export type Pos = Record<string, [number, string]>;

/** Where the client is in one stream. */
export interface StreamState {
  epoch: string;
  offset: number;
}

/** A stream as a welcome describes it. */
export interface WelcomeStream {
  epoch: string;
  offset: number;
  recovered?: boolean;
}

/** The close code the client uses when it drops a connection for lost continuity. */
export const LOST_CONTINUITY_CLOSE = 4000;

/**
 * Everything the client saw, in order, stamped with `performance.now()` and the number of the
 * connection it came on (1 for the first).
 */
export type Seen =
  | {
      kind: 'welcome';
      at: number;
      conn: number;
      clientId: string;
      recovered: boolean;
      streams: Record<string, WelcomeStream>;
      /** The streams the `recover` frame presented, and where. */
      presented: Record<string, StreamState>;
      refusedRooms?: string[];
    }
  | {
      kind: 'frame';
      at: number;
      conn: number;
      event: string;
      data: unknown;
      pos: Pos;
      /**
       * `delivered`: processed (next offset in each of its streams, or a join in flight);
       * `duplicate`: at or below the position in every stream, dropped; `lost`: a gap or another
       * epoch, not processed (the connection is dropped); `stray`: names none of the client's
       * streams (a room it left, say), not processed; `ignored`: came after a loss on a
       * connection being dropped; `skipped`: a `skip` frame (or a copy whose `mid` was processed
       * already) that advanced the positions without an event.
       */
      outcome: 'delivered' | 'duplicate' | 'lost' | 'stray' | 'ignored' | 'skipped';
    }
  | { kind: 'plain'; at: number; conn: number; event: string; data: unknown }
  | {
      kind: 'lost';
      at: number;
      conn: number;
      stream: string;
      had: StreamState | undefined;
      got: [number, string];
    }
  | { kind: 'close'; at: number; conn: number; code: number; reason: string; byServer: boolean };

type FrameSeen = Extract<Seen, { kind: 'frame' }>;

/** A push the client's app processed. */
export interface Delivered {
  event: string;
  data: unknown;
  /** Absent for a push that came without positions (nothing to check it against). */
  pos?: Pos;
  conn: number;
  at: number;
}

/**
 * A raw client speaking the recovery extension and following its continuity rule (the
 * design's "client continuity rule", which `ws-hub/client` follows too), recording everything
 * it sees so that a test can check the invariant from the record:
 *
 * - within a stream the next frame must be `offset + 1` in the same epoch; a frame with a
 *   higher offset (a gap) or another epoch is lost continuity: it is not processed, the
 *   connection is dropped (close 4000) and, with `autoResume`, the client resumes from its last
 *   position (what the welcome then says is what it reports);
 * - a frame at or below its position in the same epoch is a duplicate: dropped;
 * - a `skip` frame, or a frame whose `mid` it processed already (a Redis Cluster copy of a
 *   multi-room message), advances the positions like any frame but is not an event;
 * - while a join is in flight, frames of that room are accepted; the `joined` reply's `pos`
 *   starts the position, and the frames received meanwhile must continue it contiguously;
 * - `leave` forgets the room at once (its position, and a join still in flight);
 * - a welcome sets the positions: a stream recovered continues from the client's own offset
 *   (the replay follows), any other starts at the welcome's offset; streams the welcome does
 *   not list are forgotten.
 *
 * It never adopts a high-water mark: a position moves only by one contiguous frame.
 */
export class Recovering {
  session: string | undefined;
  clientId = '';
  /** Where the client is in each stream it is in (the `recover` frame presents exactly these). */
  readonly positions = new Map<string, StreamState>();
  /** Every positioned frame received (on the client's current connections), whatever its outcome. */
  readonly pushes: Frame[] = [];
  /** What the app processed, in order. */
  readonly delivered: Delivered[] = [];
  /** Everything seen, in order. */
  readonly seen: Seen[] = [];
  /** `mid`s of the multi-copy messages processed (a later copy only advances positions). */
  private readonly mids = new Set<string>();
  /** Streams named in positioned frames that the client is not in (frames must not reveal them). */
  readonly foreign: { event: string; streams: string[] }[] = [];
  /** Raw bytes received, per connection number. */
  readonly bytes: number[] = [0];
  /** The offsets each stream's replay should reach after the newest welcome (recovered streams). */
  readonly claimed = new Map<string, number>();
  c!: TestClient;
  /** Number of the current connection (1 for the first). */
  conn = 0;

  private token: string | undefined;
  /** Rooms with a join in flight: frames of them received meanwhile, as `[offset, epoch]`. */
  private readonly joining = new Map<string, [number, string][]>();
  private broken = false;
  private closingByClient = false;
  private stopped = false;
  private resume: { url: () => string; delayMs: number; left: number } | undefined;
  private resuming: Promise<unknown> | undefined;

  /**
   * Resume by itself after lost continuity and after a server close with 1012 or 1013 (at most
   * `max` times), on `url()` after `delayMs`.
   */
  autoResume(url: string | (() => string), options: { delayMs?: number; max?: number } = {}) {
    this.resume = {
      url: typeof url === 'string' ? () => url : url,
      delayMs: options.delayMs ?? 20,
      left: options.max ?? 50,
    };
    return this;
  }

  /** A second client presenting this one's credential and positions (a takeover). */
  fork(): Recovering {
    const other = new Recovering();
    other.session = this.session;
    other.token = this.token;
    for (const [s, p] of this.positions) other.positions.set(s, { ...p });
    return other;
  }

  async connect(url: string, token = this.token): Promise<Frame> {
    this.token = token;
    const conn = ++this.conn;
    this.bytes[conn] = 0;
    this.broken = false;
    this.closingByClient = false;
    this.claimed.clear();
    this.joining.clear(); // a join in flight on the previous connection was never answered
    const c = await TestClient.connect(url + (token ? `?token=${encodeURIComponent(token)}` : ''), {
      protocols: PROTOCOLS,
    });
    this.c = c;
    expect(c.ws.protocol).toBe('ws-hub.recovery');
    const presented = Object.fromEntries([...this.positions].map(([s, p]) => [s, { ...p }]));
    c.ws.on('message', (raw) => this.onMessage(conn, raw.toString(), presented));
    c.ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString()));
    c.send({ event: 'recover', id: 'r', data: { session: this.session, streams: presented } });
    return c.next((f) => f.event === 'welcome', 5_000);
  }

  /** Joins a room; resolves with the reply (`joined`, or an error frame). */
  join(room: string): Promise<Frame> {
    const stream = 'room:' + room;
    if (!this.positions.has(stream)) this.joining.set(stream, []);
    return this.c.request({ event: 'join', id: `j-${room}`, data: { room } }).then((reply) => {
      if (reply.event !== 'joined') this.joining.delete(stream); // refused: not in the room
      return reply;
    });
  }

  /** Leaves a room: forgotten at once (a join still in flight too); resolves with the reply. */
  leave(room: string): Promise<Frame> {
    const stream = 'room:' + room;
    this.positions.delete(stream);
    this.joining.delete(stream);
    return this.c.request({ event: 'leave', id: `l-${room}`, data: { room } });
  }

  /** Drops the connection without a close frame (a network cut). */
  drop(): void {
    this.c?.terminate();
  }

  /** Stops resuming and drops the connection (test cleanup). */
  stop(): void {
    this.stopped = true;
    this.c?.terminate();
  }

  /** The data of the pushes of `event` the app processed, in order. */
  got(event: string): unknown[] {
    return this.delivered.filter((d) => d.event === event).map((d) => d.data);
  }

  /** The data of every positioned frame received. */
  events(): unknown[] {
    return this.pushes.map((f) => f.data);
  }

  welcomes(since = 0): Extract<Seen, { kind: 'welcome' }>[] {
    return this.seen.filter(
      (s): s is Extract<Seen, { kind: 'welcome' }> => s.kind === 'welcome' && s.at >= since,
    );
  }

  /** Closes the server initiated since `since`. */
  serverCloses(since = 0): Extract<Seen, { kind: 'close' }>[] {
    return this.seen.filter(
      (s): s is Extract<Seen, { kind: 'close' }> =>
        s.kind === 'close' && s.byServer && s.at >= since,
    );
  }

  losses(since = 0): Extract<Seen, { kind: 'lost' }>[] {
    return this.seen.filter(
      (s): s is Extract<Seen, { kind: 'lost' }> => s.kind === 'lost' && s.at >= since,
    );
  }

  outcomes(outcome: FrameSeen['outcome'], since = 0): FrameSeen[] {
    return this.seen.filter(
      (s): s is FrameSeen => s.kind === 'frame' && s.outcome === outcome && s.at >= since,
    );
  }

  /**
   * Whether the client was told, since `since`, that `stream` (or, without it, anything) lost
   * messages: a welcome saying `recovered: false` for it (or not listing a stream it presented),
   * or overall when no stream is given.
   */
  toldLoss(since: number, stream?: string): boolean {
    return this.welcomes(since).some((w) => {
      if (stream === undefined) return !w.recovered;
      if (!(stream in w.presented)) return false;
      const st = w.streams[stream];
      return st === undefined || st.recovered === false;
    });
  }

  /** Whether the server closed this client with one of `codes` since `since`. */
  closedBy(since: number, ...codes: number[]): boolean {
    return this.serverCloses(since).some((c) => codes.includes(c.code));
  }

  /** Streams whose position is still below what the newest welcome said the replay reaches. */
  shortOfWelcome(): Record<string, { at: number; claimed: number }> {
    const out: Record<string, { at: number; claimed: number }> = {};
    for (const [s, claimed] of this.claimed) {
      const at = this.positions.get(s)?.offset ?? -1;
      if (at < claimed) out[s] = { at, claimed };
    }
    return out;
  }

  /** A short account of what was seen, for assertion messages. */
  describe(last = 12): string {
    const short = (v: unknown): string => {
      const text = JSON.stringify(v) ?? 'undefined';
      return text.length > 40 ? text.slice(0, 37) + '...' : text;
    };
    const brief = (s: Seen): string => {
      switch (s.kind) {
        case 'welcome':
          return `welcome#${s.conn} recovered=${s.recovered} ${JSON.stringify(s.streams)}`;
        case 'frame':
          return `${s.outcome} ${s.event}=${short(s.data)} ${JSON.stringify(s.pos)}`;
        case 'plain':
          return `plain ${s.event}=${short(s.data)}`;
        case 'lost':
          return `LOST ${s.stream}: had ${JSON.stringify(s.had)} got ${JSON.stringify(s.got)}`;
        case 'close':
          return `close#${s.conn} ${s.code} ${s.reason} (${s.byServer ? 'server' : 'client'})`;
      }
    };
    const counts: Record<string, number> = {};
    for (const s of this.seen) {
      const k = s.kind === 'frame' ? s.outcome : s.kind === 'lost' ? 'continuity lost' : s.kind;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return `${JSON.stringify(counts)}; last: ${this.seen.slice(-last).map(brief).join(' | ')}`;
  }

  // ------------------------------------------------------------------------------ internals

  private onMessage(conn: number, text: string, presented: Record<string, StreamState>): void {
    this.bytes[conn] += Buffer.byteLength(text);
    if (conn !== this.conn) return; // an older connection of this client, being closed
    let f: Frame & { pos?: Pos };
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    const at = performance.now();
    if (f.event === 'welcome') return this.onWelcome(conn, at, f, presented);
    if (f.pos) {
      this.pushes.push(f);
      return this.onPositioned(conn, at, f as Frame & { pos: Pos });
    }
    if (f.event === 'joined' && f.data?.pos) return this.onJoined(conn, at, f);
    // Unsolicited `left`: the server took the client out of a room (`HubService.leave`).
    if (f.event === 'left' && f.id === undefined) this.positions.delete('room:' + f.data?.room);
    if (f.id === undefined && f.event !== 'error') {
      // A push without positions: delivered, though nothing can check it.
      this.seen.push({ kind: 'plain', at, conn, event: f.event, data: f.data });
      this.delivered.push({ event: f.event, data: f.data, conn, at });
    }
  }

  private onWelcome(
    conn: number,
    at: number,
    f: Frame,
    presented: Record<string, StreamState>,
  ): void {
    const rec = f.data.recovery as {
      recovered: boolean;
      session: string;
      streams: Record<string, WelcomeStream>;
      refusedRooms?: string[];
    };
    this.session = rec.session;
    this.clientId = f.data.clientId;
    this.seen.push({
      kind: 'welcome',
      at,
      conn,
      clientId: this.clientId,
      recovered: rec.recovered,
      streams: rec.streams,
      presented,
      ...(rec.refusedRooms ? { refusedRooms: rec.refusedRooms } : {}),
    });
    this.positions.clear();
    this.claimed.clear();
    for (const [s, st] of Object.entries(rec.streams)) {
      const mine = presented[s];
      // Recovered: the client continues from its own offset and the replay brings it to the
      // welcome's. (At offset 0 the stream may have had no epoch yet when it was presented.)
      if (st.recovered === true && mine && (mine.epoch === st.epoch || mine.offset === 0)) {
        this.positions.set(s, { epoch: st.epoch, offset: mine.offset });
        if (st.offset > mine.offset) this.claimed.set(s, st.offset);
      } else {
        this.positions.set(s, { epoch: st.epoch, offset: st.offset });
      }
    }
  }

  private onPositioned(conn: number, at: number, f: Frame & { pos: Pos }): void {
    const base: Omit<FrameSeen, 'outcome'> = {
      kind: 'frame',
      at,
      conn,
      event: f.event,
      data: f.data,
      pos: f.pos,
    };
    if (this.broken) {
      this.seen.push({ ...base, outcome: 'ignored' });
      return;
    }
    const foreign = Object.keys(f.pos).filter(
      (s) => !this.positions.has(s) && !this.joining.has(s),
    );
    if (foreign.length) this.foreign.push({ event: f.event, streams: foreign });
    const next: [string, [number, string]][] = [];
    let mine = 0;
    for (const [s, p] of Object.entries(f.pos)) {
      if (!Array.isArray(p)) continue;
      const buffered = this.joining.get(s);
      if (buffered) {
        mine++;
        buffered.push(p);
        continue;
      }
      const had = this.positions.get(s);
      if (!had) continue;
      mine++;
      const [offset, epoch] = p;
      const sameEpoch = epoch === had.epoch || (had.offset === 0 && offset === 1);
      if (sameEpoch && offset === had.offset + 1) next.push([s, p]);
      else if (sameEpoch && offset <= had.offset)
        continue; // seen already in this stream
      else return this.lose(conn, at, s, had, p, base);
    }
    if (mine === 0) {
      this.seen.push({ ...base, outcome: 'stray' });
      return;
    }
    const joined = Object.keys(f.pos).some((s) => this.joining.has(s));
    if (next.length === 0 && !joined) {
      this.seen.push({ ...base, outcome: 'duplicate' });
      return;
    }
    for (const [s, [offset, epoch]] of next) this.positions.set(s, { epoch, offset });
    const mid = (f as { mid?: string }).mid;
    if (f.event === 'skip' || (mid !== undefined && this.mids.has(mid))) {
      this.seen.push({ ...base, outcome: 'skipped' });
      return;
    }
    if (mid !== undefined) this.mids.add(mid);
    this.seen.push({ ...base, outcome: 'delivered' });
    this.delivered.push({ event: f.event, data: f.data, pos: f.pos, conn, at });
  }

  private onJoined(conn: number, at: number, f: Frame): void {
    const room = f.data.room as string;
    const stream = 'room:' + room;
    if (f.id === undefined) {
      // Unsolicited: the server put the client in the room (`HubService.join`); followed from
      // this position on, and presented on a resume.
      const [offset, epoch] = f.data.pos as [number, string];
      this.positions.set(stream, { epoch, offset });
      return;
    }
    const buffered = this.joining.get(stream);
    if (!buffered) return; // left meanwhile: the position is not taken back
    this.joining.delete(stream);
    const [start, epoch] = f.data.pos as [number, string];
    let offset = start;
    for (const p of buffered) {
      if (p[1] === epoch && p[0] <= offset) continue; // part of the starting point
      if (p[1] === epoch && p[0] === offset + 1) offset++;
      else {
        this.positions.set(stream, { epoch, offset });
        return this.lose(conn, at, stream, { epoch, offset }, p, undefined);
      }
    }
    this.positions.set(stream, { epoch, offset });
  }

  private lose(
    conn: number,
    at: number,
    stream: string,
    had: StreamState | undefined,
    got: [number, string],
    frame: Omit<FrameSeen, 'outcome'> | undefined,
  ): void {
    if (frame) this.seen.push({ ...frame, outcome: 'lost' });
    this.seen.push({ kind: 'lost', at, conn, stream, had: had && { ...had }, got });
    this.broken = true;
    this.closingByClient = true;
    this.c.ws.close(LOST_CONTINUITY_CLOSE, 'lost continuity');
    this.scheduleResume();
  }

  private onClose(conn: number, code: number, reason: string): void {
    if (conn !== this.conn) return;
    const byServer = !this.closingByClient && code !== 1006;
    this.seen.push({ kind: 'close', at: performance.now(), conn, code, reason, byServer });
    if (byServer && (code === 1012 || code === 1013)) this.scheduleResume();
  }

  private scheduleResume(): void {
    const r = this.resume;
    if (!r || this.stopped || r.left <= 0 || this.resuming) return;
    r.left--;
    const run = async (): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, r.delayMs));
      if (this.stopped) return;
      await this.connect(r.url());
    };
    this.resuming = run()
      .catch(() => undefined) // the server may be gone at the end of a test
      .finally(() => (this.resuming = undefined));
  }
}

/**
 * The invariant, checked from a client's record for one stream: `expected` are the messages
 * (`event`) published to `stream` after `since` (a `performance.now()` reading taken before
 * they were published, at or after the client had its position), as their `key`s (by default
 * the data itself). Each must have been delivered
 * exactly once, in publish order; any that was not must be covered by a welcome since `since`
 * saying `recovered: false` for the stream. Returns the problems found (none: `[]`).
 */
export function invariantProblems(
  r: Recovering,
  o: {
    stream: string;
    event: string;
    expected: unknown[];
    since: number;
    /** What identifies a message in its data, as in `expected` (default: the data itself). */
    key?: (data: unknown) => unknown;
  },
): string[] {
  const key = o.key ?? ((d: unknown) => d);
  const wanted = o.expected;
  const got = r.delivered
    .filter((d) => d.at >= o.since && d.event === o.event && (!d.pos || o.stream in d.pos))
    .map((d) => key(d.data));
  const problems: string[] = [];
  const counts = new Map<unknown, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const dups = [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${String(k)}×${n}`);
  if (dups.length) problems.push(`${o.stream}: delivered more than once: ${dups.slice(0, 10)}`);
  const positions = got.map((g) => wanted.indexOf(g));
  const unexpected = got.filter((_, i) => positions[i] < 0);
  if (unexpected.length) problems.push(`${o.stream}: not published: ${unexpected.slice(0, 10)}`);
  const known = positions.filter((p) => p >= 0);
  if (known.some((p, i) => i > 0 && p < known[i - 1])) {
    problems.push(`${o.stream}: out of publish order: ${got.slice(0, 20)}`);
  }
  const missing = wanted.filter((k) => !counts.has(k));
  if (missing.length && !r.toldLoss(o.since, o.stream)) {
    problems.push(
      `${o.stream}: missed ${missing.length} of ${wanted.length} (${missing.slice(0, 5)}${
        missing.length > 5 ? ', …' : ''
      }) and was not told (no welcome since said recovered: false for it); ${r.describe(6)}`,
    );
  }
  return problems;
}

/** Waits for `check` up to `timeoutMs` without failing: the assertions that follow say what was wrong. */
export async function settle(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

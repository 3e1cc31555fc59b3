import { WebSocket } from 'ws';
import type {
  ClientRecord,
  ConnectionRecord,
  EndCause,
  FrameRecord,
  Pos,
  StreamPos,
  WelcomeRecovery,
} from './history.js';
import type { Prng } from './prng.js';

/**
 * A client speaking the wire protocol with the recovery extension by hand, following the
 * continuity rule of the recovery contract (docs: test/faults/README.md), so that the test
 * checks the server and not ws-hub/client:
 * - within a stream the next frame must be `offset + 1` in the same epoch; a frame at or below
 *   the position (same epoch) is a duplicate and is dropped; anything else (a gap, another
 *   epoch) is lost continuity: the frame is not processed, the connection is closed and the
 *   client resumes from its last position;
 * - while a join is in flight frames of that room are accepted; the `joined` reply's position
 *   starts the stream and the frames received meanwhile must continue it contiguously;
 * - the welcome: a stream recovered (`recovered: true`) continues from the client's own
 *   position (the replay follows); any other stream starts at the welcome's position.
 * Every frame is recorded, with the time it arrived, before the rule looks at it.
 */

export const PUSH_EVENTS = new Set(['b', 'r', 'u', 'd']);
export const PROTOCOLS = ['ws-hub.v1', 'ws-hub.recovery'];

/** How long without any frame before the client gives up on a connection (it pings every 1 s). */
const LIVENESS_MS = 4_000;
const PING_EVERY_MS = 1_000;
const WELCOME_TIMEOUT_MS = 8_000;

export interface ClientEnv {
  now(): number;
  /** A new connection id. */
  nextConnectionId(): number;
  /** ws URLs of the instances (through their proxies). */
  urls: string[];
  /** Whether the schedule is over (no more reconnects). */
  ended(): boolean;
}

interface RoomOp {
  seq: number;
  op: 'join' | 'leave';
  answered: boolean;
}

/**
 * Whether `[offset, epoch]` is the next message after `at`: offset + 1 in the same epoch, or the
 * first message of a stream the client knew empty (offset 0 is "nothing yet" in any epoch).
 */
export function follows(at: StreamPos, offset: number, epoch: string): boolean {
  return offset === at.offset + 1 && (epoch === at.epoch || at.offset === 0);
}

/** One WebSocket connection of a raw client, with its own copy of the client's state. */
export class RawConnection {
  readonly rec: ConnectionRecord;
  readonly ws: WebSocket;
  localPort: number | undefined;
  welcomed = false;
  stopped = false;
  /** Positions per stream this connection tracks. */
  readonly positions: Map<string, StreamPos>;
  /** Rooms this connection is in (joined reply received or restored by the welcome). */
  readonly rooms: Set<string>;
  /** Room joins sent and not answered: the frames received meanwhile (offset, epoch). */
  private readonly joining = new Map<string, Pos[]>();
  private readonly lastOp = new Map<string, RoomOp>();
  private opSeq = 0;
  private lastFrameAt: number;
  private pausedUntil = 0;
  private timers: NodeJS.Timeout[] = [];
  private pingSeq = 0;

  constructor(
    readonly client: RawClient,
    instance: number,
    url: string,
    positions: Map<string, StreamPos>,
    rooms: Set<string>,
    takeoverOf?: number,
  ) {
    const env = client.env;
    this.positions = new Map([...positions].map(([k, v]) => [k, { ...v }]));
    this.rooms = new Set(rooms);
    this.rec = {
      id: env.nextConnectionId(),
      client: client.record.index,
      instance,
      tOpen: env.now(),
      frames: [],
      requests: [],
      ...(takeoverOf !== undefined ? { takeoverOf } : {}),
    };
    this.lastFrameAt = env.now();
    client.record.connections.push(this.rec);
    this.ws = new WebSocket(`${url}?token=${client.record.userId}`, PROTOCOLS);
    this.ws.on('upgrade', (res) => (this.localPort = res.socket.localPort));
    this.ws.on('error', () => undefined);
    this.ws.on('open', () => this.opened());
    this.ws.on('message', (raw) => this.received(raw.toString()));
    this.ws.on('close', (code, reason) => this.closed(code, reason.toString()));
    this.timers.push(
      setTimeout(() => {
        if (!this.welcomed) this.stop('welcome-timeout');
      }, WELCOME_TIMEOUT_MS),
    );
  }

  private opened(): void {
    const streams = Object.fromEntries(this.presentable());
    const session = this.client.session;
    this.rec.presented = { session: session !== undefined, streams };
    this.ws.send(JSON.stringify({ event: 'recover', id: 'r', data: { session, streams } }));
  }

  /** The streams this connection is in, with positions: `all`, its own, its user's, its rooms'. */
  private presentable(): [string, StreamPos][] {
    const out: [string, StreamPos][] = [];
    for (const [stream, pos] of this.positions) {
      if (stream.startsWith('room:') && !this.rooms.has(stream.slice(5))) continue;
      out.push([stream, { ...pos }]);
    }
    return out;
  }

  private received(text: string): void {
    if (this.stopped) return;
    const env = this.client.env;
    const t = env.now();
    this.lastFrameAt = t;
    let f: { event: string; id?: string | number; data?: any; pos?: Record<string, Pos> };
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (f.event === 'pong') return;
    if (f.event === 'welcome') {
      this.welcome(t, f.data);
      return;
    }
    const rec: FrameRecord = { t, event: f.event };
    if (f.id !== undefined) rec.id = f.id;
    if (f.pos) rec.pos = f.pos;
    if (PUSH_EVENTS.has(f.event)) rec.m = f.data?.m;
    else rec.data = f.data;
    this.rec.frames.push(rec);
    if (!this.welcomed) return;
    if (f.pos) this.positioned(f.pos);
    else if (f.event === 'joined') this.joined(f.data?.room, f.data?.pos, f.id);
    else if (f.event === 'left') this.left(f.data?.room);
    else if (f.event === 'error' && typeof f.id === 'string' && f.id.startsWith('j'))
      this.joinRefused(f.id);
  }

  private welcome(t: number, data: any): void {
    const recovery = data?.recovery as (WelcomeRecovery & { session?: string }) | undefined;
    this.rec.welcome = {
      t,
      clientId: data?.clientId,
      userId: data?.userId,
      ...(recovery
        ? {
            recovery: {
              recovered: recovery.recovered,
              streams: recovery.streams,
              ...(recovery.refusedRooms ? { refusedRooms: recovery.refusedRooms } : {}),
            },
          }
        : {}),
    };
    if (!recovery) {
      this.stop('continuity', 'welcome without recovery');
      return;
    }
    this.welcomed = true;
    this.client.welcomed(this, data.clientId, recovery.session);
    const presented = this.rec.presented?.streams ?? {};
    const wanted = this.client.wantRooms;
    const next = new Map<string, StreamPos>();
    const restored = new Set<string>();
    for (const [stream, s] of Object.entries(recovery.streams ?? {})) {
      const mine = presented[stream];
      if (s.recovered === true && mine) {
        // Continues from the client's own position; the replay follows. (Offset 0 was "nothing
        // yet": the stream's epoch then is whatever it is now.)
        next.set(stream, { epoch: mine.offset === 0 ? s.epoch : mine.epoch, offset: mine.offset });
      } else next.set(stream, { epoch: s.epoch, offset: s.offset });
      if (stream.startsWith('room:')) restored.add(stream.slice(5));
    }
    this.positions.clear();
    for (const [k, v] of next) this.positions.set(k, v);
    this.rooms.clear();
    for (const room of restored) this.rooms.add(room);
    // Rooms the server restored that the client left meanwhile: leave them again.
    for (const room of restored) if (!wanted.has(room)) this.leave(room);
    // Rooms the client wants that did not come back: join them again.
    for (const room of wanted) if (!restored.has(room)) this.join(room);
    this.timers.push(setInterval(() => this.beat(), PING_EVERY_MS / 2));
  }

  private beat(): void {
    const now = this.client.env.now();
    if (now < this.pausedUntil) return;
    if (now - this.lastFrameAt > LIVENESS_MS) {
      this.stop('liveness');
      return;
    }
    if (++this.pingSeq % 2 === 0 && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ event: 'ping', id: `p${this.pingSeq}` }));
    }
  }

  /** The continuity rule for one positioned frame. */
  private positioned(pos: Record<string, Pos>): void {
    const advance: [string, number, string][] = [];
    for (const [stream, p] of Object.entries(pos)) {
      if (!Array.isArray(p)) continue;
      const [offset, epoch] = p;
      const stash = this.joining.get(stream.slice(5));
      if (stream.startsWith('room:') && stash && !this.positions.has(stream)) {
        stash.push([offset, epoch]);
        continue;
      }
      const mine = this.positions.get(stream);
      if (!mine) continue; // not one of this client's streams (the checker sees it)
      if (follows(mine, offset, epoch)) advance.push([stream, offset, epoch]);
      else if (epoch === mine.epoch && offset <= mine.offset)
        continue; // duplicate: dropped
      else {
        this.stop(
          'continuity',
          `${stream}: at [${mine.offset},${mine.epoch}], got [${offset},${epoch}]`,
        );
        return;
      }
    }
    for (const [stream, offset, epoch] of advance) this.positions.set(stream, { epoch, offset });
  }

  private joined(room: unknown, pos: unknown, id: unknown): void {
    if (typeof room !== 'string') return;
    const op = this.lastOp.get(room);
    const stash = this.joining.get(room) ?? [];
    this.joining.delete(room);
    // A leave sent after this join and already answered: the reply is stale.
    if (op && op.op === 'leave' && op.answered) return;
    // Already in the room (restored meanwhile): its stream continues, the reply changes nothing.
    if (this.rooms.has(room) && this.positions.has(`room:${room}`)) return;
    this.rooms.add(room);
    if (!Array.isArray(pos)) {
      this.stop('continuity', `joined ${room} (${String(id)}) without a position`);
      return;
    }
    let [offset, epoch] = pos as Pos;
    for (const [o, e] of stash) {
      if (follows({ epoch, offset }, o, e)) [offset, epoch] = [o, e];
      else if (e === epoch && o <= offset) continue;
      else {
        this.stop(
          'continuity',
          `room:${room}: joined at [${pos[0]},${pos[1]}], got [${o},${e}] meanwhile`,
        );
        return;
      }
    }
    this.positions.set(`room:${room}`, { epoch, offset });
  }

  private left(room: unknown): void {
    if (typeof room !== 'string') return;
    const op = this.lastOp.get(room);
    if (op?.op === 'leave') op.answered = true;
    // (A join sent after this leave and still in flight starts the stream again with its reply.)
    this.rooms.delete(room);
    this.positions.delete(`room:${room}`);
  }

  private joinRefused(id: string): void {
    const room = this.rec.requests.find((r) => r.id === id)?.room;
    if (room === undefined) return;
    this.joining.delete(room);
    this.client.wantRooms.delete(room);
  }

  private request(op: 'join' | 'leave', room: string): void {
    if (this.ws.readyState !== WebSocket.OPEN || !this.welcomed || this.stopped) return;
    const seq = ++this.opSeq;
    const id = `${op === 'join' ? 'j' : 'l'}${seq}`;
    this.lastOp.set(room, { seq, op, answered: false });
    this.rec.requests.push({ t: this.client.env.now(), op, room, id });
    this.ws.send(JSON.stringify({ event: op, id, data: { room } }));
  }

  join(room: string): void {
    if (!this.joining.has(room)) this.joining.set(room, []);
    this.request('join', room);
  }

  leave(room: string): void {
    this.request('leave', room);
  }

  /** Stops reading for `ms` (a slow consumer): the socket is paused, nothing is lost. */
  pause(ms: number): void {
    this.pausedUntil = this.client.env.now() + ms;
    this.ws.pause();
    this.timers.push(
      setTimeout(() => {
        this.lastFrameAt = this.client.env.now();
        this.ws.resume();
      }, ms),
    );
  }

  /** The client gives up on this connection (it resumes elsewhere unless told otherwise). */
  stop(cause: EndCause, detail?: string, terminate = false): void {
    if (this.stopped) return;
    this.stopped = true;
    this.rec.tStop = this.client.env.now();
    this.rec.cause = cause;
    if (detail) this.rec.continuity = detail;
    if (terminate || this.ws.readyState !== WebSocket.OPEN) this.ws.terminate();
    else this.ws.close(cause === 'continuity' ? 4000 : 1000, cause);
    // A close handshake that does not finish (a frozen peer): terminate.
    this.timers.push(setTimeout(() => this.ws.terminate(), 2_000));
  }

  private closed(code: number, reason: string): void {
    const now = this.client.env.now();
    this.rec.tClose = now;
    this.rec.code = code;
    this.rec.reason = reason;
    if (!this.stopped) {
      this.stopped = true;
      this.rec.tStop = now;
      this.rec.cause = this.client.faulted.has(this.rec.id) ? 'fault' : 'server-close';
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.client.connectionClosed(this);
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.ws.terminate();
  }
}

/** A logical client: a user, a session, a chain of connections. */
export class RawClient {
  readonly record: ClientRecord;
  session: string | undefined;
  clientId: string | undefined;
  /** The connection carrying the client now. */
  current: RawConnection | undefined;
  readonly connections = new Set<RawConnection>();
  /** Rooms the client means to be in. */
  readonly wantRooms = new Set<string>();
  /** Connection ids a fault ended (cut, killed instance): their close is the test's doing. */
  readonly faulted = new Set<number>();
  /** When the client should be offline until (the schedule took it away). */
  private offlineUntil = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lastState = new Map<string, StreamPos>();
  private lastRooms = new Set<string>();

  constructor(
    index: number,
    readonly env: ClientEnv,
    private readonly prng: Prng,
  ) {
    this.record = { index, kind: 'raw', userId: `u${index}`, connections: [] };
  }

  get online(): boolean {
    return this.current !== undefined && this.current.welcomed && !this.current.stopped;
  }

  connect(instance = this.prng.int(0, this.env.urls.length - 1)): RawConnection {
    const base = this.current ?? undefined;
    const positions = base ? base.positions : this.lastState;
    const rooms = base ? base.rooms : this.lastRooms;
    const conn = new RawConnection(this, instance, this.env.urls[instance], positions, rooms);
    this.connections.add(conn);
    this.current = conn;
    return conn;
  }

  /** Opens a second connection presenting the same session while the current one is open. */
  takeover(instance: number): RawConnection | undefined {
    const old = this.current;
    if (!old || !old.welcomed || old.stopped || this.session === undefined) return undefined;
    const conn = new RawConnection(
      this,
      instance,
      this.env.urls[instance],
      old.positions,
      old.rooms,
      old.rec.id,
    );
    this.connections.add(conn);
    this.current = conn;
    return conn;
  }

  welcomed(conn: RawConnection, clientId: string, session: string | undefined): void {
    if (conn !== this.current) return;
    this.clientId = clientId;
    this.session = session;
  }

  connectionClosed(conn: RawConnection): void {
    this.connections.delete(conn);
    if (conn !== this.current) return;
    // (A connection that never got its welcome still holds the copy it started with.)
    this.lastState = new Map([...conn.positions].map(([k, v]) => [k, { ...v }]));
    this.lastRooms = new Set(conn.rooms);
    this.current = undefined;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.env.ended() || this.reconnectTimer) return;
    const delay = Math.max(this.offlineUntil - this.env.now(), 0) + this.prng.int(30, 400);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.env.ended() || this.current) return;
      this.connect();
    }, delay);
  }

  /** Leaves for `ms` (closing or dropping its connection), then resumes. */
  goOffline(ms: number, terminate: boolean): void {
    this.offlineUntil = this.env.now() + ms;
    const conn = this.current;
    if (conn) conn.stop('client-leave', undefined, terminate);
    else this.scheduleReconnect();
  }

  /** Ends an absence now (the schedule's quiet tail): reconnects at once if offline. */
  comeBack(): void {
    this.offlineUntil = 0;
    if (this.reconnectTimer && !this.current) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connect();
    }
  }

  /** Closes the connection and resumes at once on `instance` (a reconnect, a deploy). */
  hop(): void {
    this.offlineUntil = 0;
    this.current?.stop('client-leave');
  }

  join(room: string): void {
    this.wantRooms.add(room);
    this.current?.join(room);
  }

  leave(room: string): void {
    this.wantRooms.delete(room);
    this.current?.leave(room);
  }

  /** `join` then `leave` of one room back to back, before the join is answered. */
  race(room: string): void {
    this.join(room);
    this.leave(room);
  }

  dispose(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const c of this.connections) {
      if (!c.stopped) {
        c.rec.cause = 'end';
        c.rec.tStop = this.env.now();
        c.stopped = true;
      }
      c.dispose();
    }
  }
}

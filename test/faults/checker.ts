import {
  DATA_LOSS_FAULTS,
  FAULT_KINDS,
  type ClientRecord,
  type ConnectionRecord,
  type FaultKind,
  type FrameRecord,
  type History,
  type Pos,
  type Publication,
  type StreamPos,
} from './history.js';

/**
 * The checker: verifies the recovery invariant from a recorded history alone (the frames each
 * client saw, the welcomes, what the publisher published), without asking the system anything.
 * Each kind of violation is described in README.md next to this file.
 */

export type ViolationKind =
  | 'offset-reuse'
  | 'double-recorded'
  | 'misrouted'
  | 'gap'
  | 'duplicate'
  | 'epoch-change'
  | 'false-recovered'
  | 'lost'
  | 'stalled'
  | 'room-leak'
  | 'misdelivered'
  | 'room-restored'
  | 'join-leave-order'
  | 'takeover'
  | 'session-lost'
  | 'count'
  | 'client-lost'
  | 'client-duplicate'
  | 'unsettled'
  | 'instance-crash';

export interface Violation {
  kind: ViolationKind;
  /** When it shows (ms since the schedule started). */
  t: number;
  client?: number;
  connection?: number;
  stream?: string;
  /** One line saying what is wrong. */
  message: string;
  /** The frames, welcomes and faults that show it, one per line, already formatted. */
  evidence: string[];
}

export interface Figures {
  published: number;
  acked: number;
  connections: number;
  welcomes: number;
  welcomesRecovered: number;
  welcomesNotRecovered: number;
  /** Push frames received (positioned or not). */
  pushFrames: number;
  positionedFrames: number;
  /** Pushes without a position on a recovery connection (the store was away). */
  unpositionedFrames: number;
  /** `skip` frames: offsets stepped over without a message. */
  skipFrames: number;
  /** Messages the app saw through ws-hub/client. */
  appDeliveries: number;
  closes: Record<string, number>;
  /** Connections the raw clients closed on a continuity break. */
  continuityBreaks: number;
  faults: Partial<Record<FaultKind, number>>;
  faultsSkipped: number;
  instanceErrorLines: number;
  /** Error frames the clients got, by code (INTERNAL: a handler failed on the server). */
  errorReplies: Record<string, number>;
}

export interface CheckOptions {
  /**
   * How long a message may be in flight (ms): published but not yet delivered, or delivered
   * to one client and not yet to another. Bounds the time-based checks (stalled, lost).
   */
  inFlightMs: number;
  /** Margin around "stable" for the return-count check (ms). */
  stableMs: number;
  /** How long after a takeover's welcome the old connection must be closed with 4409 (ms). */
  takeoverCloseMs: number;
  /** Sessions must survive disconnects shorter than sessionTtlMs minus this (ms). */
  sessionMarginMs: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  inFlightMs: 12_000,
  stableMs: 1_000,
  takeoverCloseMs: 5_000,
  sessionMarginMs: 3_000,
};

export interface CheckResult {
  violations: Violation[];
  figures: Figures;
}

// ------------------------------------------------------------------------------ formatting

const ms = (t: number) => `${(t / 1000).toFixed(3)}s`;

export function fmtPos(pos: Record<string, Pos> | undefined): string {
  if (!pos) return 'no pos';
  return Object.entries(pos)
    .map(([s, [o, e]]) => `${s}@${o}/${e}`)
    .join(' ');
}

export function fmtFrame(c: ConnectionRecord, f: FrameRecord): string {
  const what =
    f.m !== undefined
      ? `${f.event} ${f.m} ${fmtPos(f.pos)}`
      : `${f.event}${f.id !== undefined ? `#${f.id}` : ''} ${JSON.stringify(f.data ?? null)}`;
  return `${ms(f.t)} client ${c.client} conn ${c.id} (inst ${c.instance}) <- ${what}`;
}

export function fmtConn(c: ConnectionRecord): string {
  const w = c.welcome;
  const rec = w?.recovery;
  const presented = c.presented
    ? `presented ${c.presented.session ? 'session' : 'no session'} ${JSON.stringify(
        Object.fromEntries(
          Object.entries(c.presented.streams).map(([s, p]) => [s, `${p.offset}/${p.epoch}`]),
        ),
      )}`
    : 'presented nothing';
  const welcome = w
    ? `welcome ${ms(w.t)} id ${w.clientId} recovered ${rec?.recovered} ${JSON.stringify(
        Object.fromEntries(
          Object.entries(rec?.streams ?? {}).map(([s, p]) => [
            s,
            `${p.offset}/${p.epoch}${p.recovered === undefined ? '' : p.recovered ? ' ok' : ' LOST'}`,
          ]),
        ),
      )}${rec?.refusedRooms ? ` refused ${rec.refusedRooms.join(',')}` : ''}`
    : 'no welcome';
  const end =
    c.tClose !== undefined || c.tStop !== undefined
      ? `ended ${ms(c.tStop ?? c.tClose!)} ${c.cause ?? ''} ${c.code ?? ''} ${c.reason ?? ''}${
          c.continuity ? ` (${c.continuity})` : ''
        }`
      : 'open';
  return `client ${c.client} conn ${c.id} inst ${c.instance} opened ${ms(c.tOpen)}${
    c.takeoverOf !== undefined ? ` (takeover of conn ${c.takeoverOf})` : ''
  }; ${presented}; ${welcome}; ${end}`;
}

// ------------------------------------------------------------------------------ helpers

/** The streams a publication is for. */
function streamsOf(p: Publication): string[] {
  switch (p.kind) {
    case 'all':
      return ['all'];
    case 'rooms':
      return (p.rooms ?? []).map((r) => `room:${r}`);
    case 'user':
      return [`user:${p.userId}`];
    case 'client':
      return [`client:${p.clientId}`];
  }
}

function follows(at: StreamPos, offset: number, epoch: string): boolean {
  return offset === at.offset + 1 && (epoch === at.epoch || at.offset === 0);
}

/** When a connection stopped counting: the client stopped it, or it closed. */
function endOf(c: ConnectionRecord, tEnd: number): number {
  return Math.min(c.tStop ?? Infinity, c.tClose ?? Infinity, tEnd);
}

interface Observation {
  m: string;
  t: number;
  client: number;
  conn: number;
}

/** A position a connection reached in a stream (after accepting a frame, a join or a welcome). */
interface Point {
  t: number;
  offset: number;
  epoch: string;
  /** Where the position came from: a welcome, a `joined` reply, or a frame. */
  src: 'welcome' | 'joined' | 'frame';
}

/** What one connection's scan leaves for the checks that span connections. */
interface ConnScan {
  conn: ConnectionRecord;
  client: ClientRecord;
  /** Per stream, the contiguous positions reached, in order; a break starts a new run. */
  runs: Map<string, Point[][]>;
  /** Messages the connection took as new (a position that followed, or no position), in order. */
  accepted: { m: string; t: number }[];
  /** Per stream, the position at the end, and since when the connection was in the stream. */
  final: Map<string, { pos: StreamPos; since: number; lastFrameT: number }>;
  /** Room membership intervals [from, to]: from the welcome or a `joined` reply to a leave sent. */
  rooms: Map<string, [number, number][]>;
  /** Per room, the last request sent once all were answered ('join' or 'leave'), and when. */
  roomOps: Map<string, { op: 'join' | 'leave'; t: number }>;
}

// ------------------------------------------------------------------------------ the checker

export function check(history: History, options: Partial<CheckOptions> = {}): CheckResult {
  const opt = { ...DEFAULT_CHECK_OPTIONS, ...options };
  const violations: Violation[] = [];
  const pubs = new Map(history.publications.map((p) => [p.m, p]));
  const figures: Figures = {
    published: history.publications.length,
    acked: history.publications.filter((p) => p.tAck !== undefined).length,
    connections: 0,
    welcomes: 0,
    welcomesRecovered: 0,
    welcomesNotRecovered: 0,
    pushFrames: 0,
    positionedFrames: 0,
    unpositionedFrames: 0,
    skipFrames: 0,
    appDeliveries: 0,
    closes: {},
    continuityBreaks: 0,
    faults: {},
    faultsSkipped: 0,
    instanceErrorLines: history.logs.filter((l) => /\bERROR\b/.test(l.line)).length,
    errorReplies: {},
  };
  for (const f of history.faults) {
    if (f.skipped) figures.faultsSkipped++;
    else figures.faults[f.kind] = (figures.faults[f.kind] ?? 0) + 1;
  }
  const add = (v: Violation) => violations.push(v);

  // ---- global view: who saw which message at which position
  const byPosition = new Map<string, Map<string, Observation>>(); // "s|e|k" -> m -> first
  const positionsOfMessage = new Map<string, Set<number>>(); // "s|e|m" -> offsets
  const firstSeen = new Map<string, number>(); // "s|e|k" -> t
  const streamObs = new Map<string, { t: number; offset: number; epoch: string }[]>();
  const seenInStream = new Set<string>(); // "s|m"
  for (const client of history.clients) {
    for (const conn of client.connections) {
      for (const f of conn.frames) {
        if (!f.pos || f.m === undefined) continue;
        for (const [s, p] of Object.entries(f.pos)) {
          if (!Array.isArray(p)) continue;
          const [k, e] = p;
          const key = `${s}|${e}|${k}`;
          let at = byPosition.get(key);
          if (!at) byPosition.set(key, (at = new Map()));
          if (!at.has(f.m)) at.set(f.m, { m: f.m, t: f.t, client: client.index, conn: conn.id });
          if (!firstSeen.has(key) || firstSeen.get(key)! > f.t) firstSeen.set(key, f.t);
          const mk = `${s}|${e}|${f.m}`;
          let offs = positionsOfMessage.get(mk);
          if (!offs) positionsOfMessage.set(mk, (offs = new Set()));
          offs.add(k);
          seenInStream.add(`${s}|${f.m}`);
        }
      }
    }
  }
  for (const [key, t] of firstSeen) {
    const [s, e, k] = splitKey(key);
    let list = streamObs.get(s);
    if (!list) streamObs.set(s, (list = []));
    list.push({ t, offset: k, epoch: e });
  }
  for (const list of streamObs.values()) list.sort((a, b) => a.t - b.t);

  for (const [key, at] of byPosition) {
    if (at.size < 2) continue;
    const [s, e, k] = splitKey(key);
    const seen = [...at.values()];
    add({
      kind: 'offset-reuse',
      t: Math.min(...seen.map((o) => o.t)),
      stream: s,
      message: `${s} epoch ${e} offset ${k} carried ${seen.length} different messages: ${seen
        .map((o) => o.m)
        .join(', ')}`,
      evidence: seen.map(
        (o) => `${ms(o.t)} client ${o.client} conn ${o.conn} got ${o.m} at ${s}@${k}/${e}`,
      ),
    });
  }
  for (const [key, offs] of positionsOfMessage) {
    if (offs.size < 2) continue;
    const [s, e, m] = key.split('|');
    const first = Math.min(
      ...[...offs].map((k) => byPosition.get(`${s}|${e}|${k}`)?.get(m)?.t ?? Infinity),
    );
    add({
      kind: 'double-recorded',
      t: first,
      stream: s,
      message: `${m} was recorded ${offs.size} times in ${s} epoch ${e}: offsets ${[...offs]
        .sort((a, b) => a - b)
        .join(', ')}`,
      evidence: [],
    });
  }

  // ---- per connection: membership, continuity, welcome claims
  const scans: ConnScan[] = [];
  for (const client of history.clients) {
    for (const conn of client.connections) {
      figures.connections++;
      if (conn.code !== undefined) {
        figures.closes[String(conn.code)] = (figures.closes[String(conn.code)] ?? 0) + 1;
      }
      if (conn.cause === 'continuity') figures.continuityBreaks++;
      figures.appDeliveries += conn.app?.length ?? 0;
      for (const f of conn.frames) {
        if (f.event !== 'error') continue;
        const code = String((f.data as { code?: unknown } | undefined)?.code);
        figures.errorReplies[code] = (figures.errorReplies[code] ?? 0) + 1;
      }
      if (!conn.welcome) continue;
      figures.welcomes++;
      if (conn.welcome.recovery?.recovered) figures.welcomesRecovered++;
      else figures.welcomesNotRecovered++;
      scans.push(scanConnection(history, client, conn, pubs, figures, add));
    }
  }
  const scansByClient = new Map<number, ConnScan[]>();
  for (const s of scans) {
    let list = scansByClient.get(s.client.index);
    if (!list) scansByClient.set(s.client.index, (list = []));
    list.push(s);
  }

  // ---- welcome truthfulness across a client's connections, sessions, takeovers
  for (const client of history.clients) {
    const list = scansByClient.get(client.index) ?? [];
    checkClientChain(history, client, list, opt, add);
    checkChainDuplicates(client, list, add);
    if (client.kind === 'real') checkApp(client, list, byPosition, add);
  }

  // ---- stalled: a connection in a stream that others saw move on long before it ended
  for (const scan of scans) {
    const end = endOf(scan.conn, history.tEnd);
    for (const [s, fin] of scan.final) {
      const obs = streamObs.get(s);
      if (!obs) continue;
      const missed = obs.find(
        (o) =>
          o.t > fin.since &&
          o.t < end - opt.inFlightMs &&
          ((o.epoch === fin.pos.epoch && o.offset > fin.pos.offset) ||
            (o.epoch !== fin.pos.epoch && fin.pos.offset > 0 && o.t > fin.lastFrameT) ||
            (fin.pos.offset === 0 && o.offset >= 1)),
      );
      if (!missed) continue;
      add({
        kind: 'stalled',
        t: missed.t + opt.inFlightMs,
        client: scan.client.index,
        connection: scan.conn.id,
        stream: s,
        message: `client ${scan.client.index} conn ${scan.conn.id} stayed at ${s}@${fin.pos.offset}/${fin.pos.epoch} until ${ms(end)}, but ${s}@${missed.offset}/${missed.epoch} was delivered to others at ${ms(missed.t)}`,
        evidence: [fmtConn(scan.conn)],
      });
    }
  }

  // ---- lost without a trace: a message published to a stream, never seen in it by anyone,
  // while some client's contiguous positions in the stream spanned its publication
  const runsByStream = new Map<string, { scan: ConnScan; run: Point[] }[]>();
  for (const segs of chainRuns(scansByClient)) {
    for (const seg of segs) {
      let list = runsByStream.get(seg.stream);
      if (!list) runsByStream.set(seg.stream, (list = []));
      list.push({ scan: seg.scan, run: seg.run });
    }
  }
  const disturbances = history.faults.filter(
    (f) =>
      !f.skipped &&
      (f.kind === 'instance-kill' || f.kind === 'instance-term' || f.kind === 'instance-freeze'),
  );
  for (const p of history.publications) {
    if (p.tAck === undefined || p.error !== undefined) continue;
    if (p.kind === 'client' && p.ret === false) continue; // not taken: nothing to deliver
    const until = p.tAck + opt.inFlightMs;
    if (
      disturbances.some(
        (f) => f.instance === p.instance && f.t <= until && (f.tEnd ?? history.tEnd) >= p.tSent,
      ) ||
      history.instances.some(
        (e) => e.what === 'exit' && e.instance === p.instance && e.t >= p.tSent && e.t <= until,
      )
    )
      continue;
    for (const s of streamsOf(p)) {
      if (seenInStream.has(`${s}|${p.m}`)) continue;
      for (const { scan, run } of runsByStream.get(s) ?? []) {
        const before = lastAtOrBefore(run, p.tSent);
        if (!before) continue;
        const after = run.find((pt) => pt.t >= until);
        if (!after || after.epoch !== before.epoch) continue;
        add({
          kind: 'lost',
          t: p.tSent,
          client: scan.client.index,
          stream: s,
          message: `${p.m} (${describePub(p)}) was published at ${ms(p.tSent)} and never delivered in ${s}, while client ${scan.client.index} went from ${s}@${before.offset}/${before.epoch} (${ms(before.t)}) to @${after.offset}/${after.epoch} (${ms(after.t)}) without a gap`,
          evidence: [],
        });
        break;
      }
    }
  }

  // ---- return counts: a stable recipient on the publishing instance and a count of 0
  checkCounts(history, scans, opt, add);

  if (history.quiet) checkQuiet(history, history.quiet, add);

  for (const e of history.instances) {
    if (e.what === 'exit' && e.unexpected) {
      add({
        kind: 'instance-crash',
        t: e.t,
        message: `instance ${e.instance} exited by itself (code ${e.code}, signal ${e.signal})`,
        evidence: history.logs
          .filter((l) => l.instance === e.instance && l.t <= e.t && l.t > e.t - 5_000)
          .slice(-10)
          .map((l) => `${ms(l.t)} inst ${l.instance}: ${l.line}`),
      });
    }
  }

  violations.sort((a, b) => a.t - b.t);
  return { violations, figures };
}

function splitKey(key: string): [string, string, number] {
  // stream names may hold '|': the epoch and offset are the last two fields
  const parts = key.split('|');
  const k = Number(parts.pop());
  const e = parts.pop()!;
  return [parts.join('|'), e, k];
}

function lastAtOrBefore(run: Point[], t: number): Point | undefined {
  let found: Point | undefined;
  for (const pt of run) {
    if (pt.t <= t) found = pt;
    else break;
  }
  return found;
}

function describePub(p: Publication): string {
  const target =
    p.kind === 'all'
      ? 'all'
      : p.kind === 'rooms'
        ? `rooms ${p.rooms?.join(',')}`
        : p.kind === 'user'
          ? `user ${p.userId}`
          : `client ${p.clientId}`;
  return `${target} via inst ${p.instance}, returned ${String(p.ret)}`;
}

// ------------------------------------------------------------------------------ one connection

function scanConnection(
  history: History,
  client: ClientRecord,
  conn: ConnectionRecord,
  pubs: Map<string, Publication>,
  figures: Figures,
  add: (v: Violation) => void,
): ConnScan {
  const w = conn.welcome!;
  const rec = w.recovery;
  const end = endOf(conn, history.tEnd);
  const scan: ConnScan = {
    conn,
    client,
    runs: new Map(),
    accepted: [],
    final: new Map(),
    rooms: new Map(),
    roomOps: new Map(),
  };
  const presented = conn.presented?.streams ?? {};
  const cur = new Map<string, StreamPos>();
  const since = new Map<string, number>();
  /** Per stream, the highest offset the connection had: from a frame, or resumed from. */
  const seen = new Map<string, number>();
  const lastFrameT = new Map<string, number>();
  const pushPoint = (s: string, pt: Point, fresh: boolean) => {
    let runs = scan.runs.get(s);
    if (!runs) scan.runs.set(s, (runs = []));
    if (fresh || runs.length === 0) runs.push([pt]);
    else runs[runs.length - 1].push(pt);
  };
  const reported = new Set<string>();
  const once = (key: string, v: Violation) => {
    if (reported.has(key)) return;
    reported.add(key);
    add(v);
  };
  const violation = (
    kind: ViolationKind,
    t: number,
    stream: string | undefined,
    message: string,
    frames: FrameRecord[] = [],
  ): Violation => ({
    kind,
    t,
    client: client.index,
    connection: conn.id,
    stream,
    message,
    evidence: [fmtConn(conn), ...frames.map((f) => fmtFrame(conn, f))],
  });

  // The welcome: where each stream starts, and whether its claims can be true.
  if (rec) {
    for (const [s, st] of Object.entries(rec.streams ?? {})) {
      const mine = presented[s];
      let start: StreamPos;
      if (st.recovered === true && mine) {
        start = { epoch: mine.offset === 0 ? st.epoch : mine.epoch, offset: mine.offset };
        seen.set(s, mine.offset);
        if (mine.offset > 0 && st.epoch !== mine.epoch) {
          add(
            violation(
              'false-recovered',
              w.t,
              s,
              `${s} recovered: true although its epoch changed (${mine.epoch} -> ${st.epoch})`,
            ),
          );
        } else if (st.offset < mine.offset) {
          add(
            violation(
              'false-recovered',
              w.t,
              s,
              `${s} recovered: true at offset ${st.offset}, below the client's ${mine.offset} (offsets rolled back)`,
            ),
          );
        }
      } else start = { epoch: st.epoch, offset: st.offset };
      cur.set(s, start);
      since.set(s, w.t);
      pushPoint(s, { t: w.t, ...start, src: 'welcome' }, true);
      if (s.startsWith('room:')) scan.rooms.set(s.slice(5), [[w.t, end]]);
    }
    if (rec.recovered === true) {
      for (const [s, p] of Object.entries(presented)) {
        if (rec.streams?.[s]?.recovered !== true) {
          add(
            violation(
              'false-recovered',
              w.t,
              s,
              `recovered: true overall, but presented ${s}@${p.offset}/${p.epoch} is ${
                rec.streams?.[s] ? 'not recovered' : 'missing from the welcome'
              }`,
            ),
          );
        }
      }
      if (!conn.presented?.session) {
        add(violation('false-recovered', w.t, undefined, 'recovered: true without a session'));
      }
    }
  }
  const clientStream = `client:${w.clientId}`;
  const userStream = w.userId !== undefined ? `user:${w.userId}` : undefined;

  // Requests and frames in time order (a request first when both happen in the same ms).
  type Ev = { t: number; req?: ConnectionRecord['requests'][number]; frame?: FrameRecord };
  const events: Ev[] = [
    ...conn.requests.map((req) => ({ t: req.t, req })),
    ...conn.frames.map((frame) => ({ t: frame.t, frame })),
  ];
  events.sort((a, b) => a.t - b.t || (a.req ? -1 : 0) - (b.req ? -1 : 0));
  // Room membership as the client asked for it: per room, its requests in the order sent. While
  // any is unanswered, frames of the room may come (in flight either way); once all are
  // answered, the client is in the room if the last one sent was a join answered `joined`.
  interface RoomReq {
    id: string;
    op: 'join' | 'leave';
    t: number;
    reply?: 'joined' | 'left' | 'error';
  }
  const requests = new Map<string, RoomReq[]>(); // room -> requests not yet all answered
  const byId = new Map<string, { room: string; req: RoomReq }>();
  const inRoom = new Set<string>(
    Object.keys(rec?.streams ?? {})
      .filter((s) => s.startsWith('room:'))
      .map((s) => s.slice(5)),
  );
  const stash = new Map<string, { k: number; e: string; f: FrameRecord }[]>();
  const pending = (room: string) => (requests.get(room) ?? []).some((r) => !r.reply);
  const member = (s: string): boolean => {
    if (s === 'all' || s === clientStream || s === userStream) return true;
    if (!s.startsWith('room:')) return false;
    const room = s.slice(5);
    return inRoom.has(room) || pending(room);
  };
  /** All of a room's requests answered: membership is what the last one sent asked for. */
  const settle = (room: string, t: number) => {
    const list = requests.get(room)!;
    if (list.some((r) => !r.reply)) return;
    requests.delete(room);
    const last = list[list.length - 1];
    const inside = last.op === 'join' && last.reply === 'joined';
    scan.roomOps.set(room, { op: last.op, t });
    const s = `room:${room}`;
    if (inside) {
      inRoom.add(room);
      return;
    }
    inRoom.delete(room);
    cur.delete(s);
    stash.delete(room);
    closeInterval(room, t);
  };
  const openInterval = (room: string, t: number) => {
    let list = scan.rooms.get(room);
    if (!list) scan.rooms.set(room, (list = []));
    const last = list[list.length - 1];
    if (!last || last[1] < t) list.push([t, end]);
  };
  const closeInterval = (room: string, t: number) => {
    const list = scan.rooms.get(room);
    const last = list?.[list.length - 1];
    if (last && last[1] > t) last[1] = t;
  };
  /**
   * One stream's position in a frame: 'next' (it follows), 'old' (at or below: dropped by the
   * continuity rule) or 'break' (a gap or another epoch: the client would not take the frame).
   */
  const accept = (s: string, k: number, e: string, f: FrameRecord): 'next' | 'old' | 'break' => {
    const c = cur.get(s)!;
    lastFrameT.set(s, f.t);
    if (follows(c, k, e)) {
      cur.set(s, { epoch: e, offset: k });
      seen.set(s, k);
      pushPoint(s, { t: f.t, offset: k, epoch: e, src: 'frame' }, false);
      return 'next';
    }
    if (e === c.epoch && k <= c.offset) {
      // At or below where a join or a fresh welcome started the stream, before any frame above
      // it: a message published just before the start whose live copy came late. The client
      // drops it; nothing is lost or doubled. At or below a frame it had, or the position it
      // resumed from: the server sent it twice.
      if (k > (seen.get(s) ?? -1)) return 'old';
      once(
        `dup|${s}`,
        violation(
          'duplicate',
          f.t,
          s,
          `${s}@${k}/${e} (${f.m}) arrived again: the connection was at ${c.offset}`,
          around(conn, f, s),
        ),
      );
      return 'old';
    }
    if (e !== c.epoch && c.offset > 0) {
      once(
        `epoch|${s}`,
        violation(
          'epoch-change',
          f.t,
          s,
          `${s} changed epoch on a live connection: at ${c.offset}/${c.epoch}, got ${k}/${e} (${f.m}) without a close`,
          around(conn, f, s),
        ),
      );
    } else {
      once(
        `gap|${s}`,
        violation(
          'gap',
          f.t,
          s,
          `${s}: at ${c.offset}/${c.epoch}, got ${k}/${e} (${f.m}): offsets ${c.offset + 1}..${k - 1} never came${
            rec?.streams?.[s]?.recovered === true ? ' (the welcome said recovered: true)' : ''
          }`,
          around(conn, f, s),
        ),
      );
    }
    cur.set(s, { epoch: e, offset: k });
    seen.set(s, k);
    pushPoint(s, { t: f.t, offset: k, epoch: e, src: 'frame' }, true);
    return 'break';
  };
  /**
   * A frame the client takes: new in some stream, broken in none (it is one message). Once: a
   * frame kept while a join was in flight is looked at again when the `joined` reply comes.
   */
  const taken = new Set<FrameRecord>();
  const take = (f: FrameRecord, verdicts: string[]) => {
    if (f.m === undefined || taken.has(f)) return;
    if (verdicts.includes('next') && !verdicts.includes('break')) {
      taken.add(f);
      scan.accepted.push({ m: f.m, t: f.t });
    }
  };

  for (const ev of events) {
    if (ev.req) {
      const { op, room, id } = ev.req;
      const req: RoomReq = { id: String(id), op, t: ev.t };
      let list = requests.get(room);
      if (!list) requests.set(room, (list = []));
      list.push(req);
      byId.set(req.id, { room, req });
      if (op === 'leave') closeInterval(room, ev.t);
      continue;
    }
    const f = ev.frame!;
    if (f.t < w.t) continue;
    if (f.event === 'joined' || f.event === 'left' || f.event === 'error') {
      const asked = f.id === undefined ? undefined : byId.get(String(f.id));
      if (!asked || asked.req.reply) continue;
      const { room, req } = asked;
      req.reply = f.event;
      const list = requests.get(room) ?? [];
      const earlier = list.find((r) => r !== req && !r.reply && r.t < req.t);
      if (earlier) {
        once(
          `order|${room}`,
          violation(
            'join-leave-order',
            f.t,
            `room:${room}`,
            `the ${f.event} reply to ${req.op} ${room} (${req.id}) came before the reply to the earlier ${earlier.op} (${earlier.id})`,
            conn.frames.filter(
              (x) => x.id !== undefined && (String(x.id) === req.id || String(x.id) === earlier.id),
            ),
          ),
        );
      }
      const s = `room:${room}`;
      if (f.event === 'joined') {
        openInterval(room, f.t);
        const pos = (f.data as { pos?: Pos } | undefined)?.pos;
        // The position starts the stream, unless the client is in it already (a restored room).
        if (!cur.has(s) && Array.isArray(pos)) {
          cur.set(s, { epoch: pos[1], offset: pos[0] });
          since.set(s, f.t);
          pushPoint(s, { t: f.t, offset: pos[0], epoch: pos[1], src: 'joined' }, true);
          for (const st of stash.get(room) ?? []) {
            const c = cur.get(s)!;
            if (st.e === c.epoch && st.k <= c.offset) continue; // before the join's start
            take(st.f, [accept(s, st.k, st.e, st.f)]);
          }
        }
        stash.delete(room);
      }
      settle(room, f.t);
      continue;
    }
    if (f.m === undefined) {
      // A `skip` frame: offsets the client steps over without a message (a broadcast that
      // excluded it, one it had). Positioned like any frame, checked like any frame.
      if (!f.pos) continue;
      figures.skipFrames++;
    } else figures.pushFrames++;
    const p = f.m === undefined ? undefined : pubs.get(f.m);
    // Who the message was for, and whether this client was among them.
    if (p) {
      const ok =
        p.kind === 'all' ||
        (p.kind === 'rooms' && (p.rooms ?? []).some((r) => member(`room:${r}`))) ||
        (p.kind === 'user' && p.userId === w.userId) ||
        (p.kind === 'client' && p.clientId === w.clientId);
      if (!ok) {
        once(
          `misdelivered|${f.m}`,
          violation(
            'misdelivered',
            f.t,
            undefined,
            `${f.m} (${describePub(p)}) reached client ${client.index} (user ${w.userId}, id ${w.clientId}, rooms ${[...inRoom].join(',') || 'none'})`,
            [f],
          ),
        );
      }
    }
    if (!f.pos) {
      figures.unpositionedFrames++;
      scan.accepted.push({ m: f.m!, t: f.t });
      continue;
    }
    if (f.m !== undefined) figures.positionedFrames++;
    const targets = p ? new Set(streamsOf(p)) : undefined;
    const verdicts: string[] = [];
    for (const [s, pos] of Object.entries(f.pos)) {
      if (!Array.isArray(pos)) continue;
      const [k, e] = pos;
      if (targets && !targets.has(s)) {
        once(
          `misrouted|${f.m}|${s}`,
          violation('misrouted', f.t, s, `${f.m} (${describePub(p!)}) carries a position in ${s}`, [
            f,
          ]),
        );
      }
      if (!member(s)) {
        once(
          `leak|${s}`,
          violation(
            'room-leak',
            f.t,
            s,
            `a frame showed client ${client.index} a position in ${s}, a stream it is not in`,
            [f],
          ),
        );
        continue;
      }
      if (s.startsWith('room:') && !cur.has(s)) {
        const room = s.slice(5);
        if (pending(room)) {
          let list = stash.get(room);
          if (!list) stash.set(room, (list = []));
          list.push({ k, e, f });
        }
        continue;
      }
      if (!cur.has(s)) continue;
      verdicts.push(accept(s, k, e, f));
    }
    take(f, verdicts);
  }
  scan.accepted.sort((a, b) => a.t - b.t);
  for (const [s, pos] of cur) {
    scan.final.set(s, { pos, since: since.get(s) ?? w.t, lastFrameT: lastFrameT.get(s) ?? w.t });
  }
  // Rooms with a request in flight at the end are not surely "in" for the stalled check.
  for (const room of requests.keys()) scan.final.delete(`room:${room}`);
  return scan;
}

/** The frames of stream `s` just before and after `f` on its connection (for the evidence). */
function around(conn: ConnectionRecord, f: FrameRecord, s: string): FrameRecord[] {
  const inStream = conn.frames.filter((x) => x.pos?.[s] !== undefined);
  const i = inStream.indexOf(f);
  return inStream.slice(Math.max(i - 3, 0), i + 2);
}

// ------------------------------------------------------------------------------ across connections

/** A client's contiguous runs per stream, joined across connections that resumed them. */
function chainRuns(
  scansByClient: Map<number, ConnScan[]>,
): { stream: string; scan: ConnScan; run: Point[] }[][] {
  const out: { stream: string; scan: ConnScan; run: Point[] }[][] = [];
  for (const list of scansByClient.values()) {
    const open = new Map<string, { stream: string; scan: ConnScan; run: Point[] }>();
    const segs: { stream: string; scan: ConnScan; run: Point[] }[] = [];
    for (let i = 0; i < list.length; i++) {
      const scan = list[i];
      const next = list[i + 1];
      // A connection taken over: what it got after the next one opened is not the chain's.
      const cutAt = next?.conn.takeoverOf === scan.conn.id ? next.conn.tOpen : Infinity;
      const rec = scan.conn.welcome?.recovery;
      for (const [s, runs] of scan.runs) {
        runs.forEach((run0, idx) => {
          const run = run0.filter((pt) => pt.t <= cutAt);
          if (run.length === 0) return;
          const prev = open.get(s);
          const continues =
            idx === 0 &&
            prev !== undefined &&
            rec?.streams?.[s]?.recovered === true &&
            prev.run[prev.run.length - 1].offset === run[0].offset &&
            prev.run[prev.run.length - 1].epoch === run[0].epoch;
          if (continues) prev.run.push(...run.slice(1));
          else {
            const seg = { stream: s, scan, run: [...run] };
            segs.push(seg);
            open.set(s, seg);
          }
        });
      }
    }
    out.push(segs);
  }
  return out;
}

function checkClientChain(
  history: History,
  client: ClientRecord,
  scans: ConnScan[],
  opt: CheckOptions,
  add: (v: Violation) => void,
): void {
  const conns = client.connections;
  const dataLoss = history.faults.filter((f) => !f.skipped && DATA_LOSS_FAULTS.has(f.kind));
  for (let i = 0; i < scans.length; i++) {
    const scan = scans[i];
    const c = scan.conn;
    const w = c.welcome!;
    const prev = scans[i - 1];
    // Rooms the welcome restored that the client had left (its leave answered) and not asked for.
    if (prev && w.clientId === prev.conn.welcome!.clientId) {
      const presented = c.presented?.streams ?? {};
      for (const s of Object.keys(w.recovery?.streams ?? {})) {
        if (!s.startsWith('room:') || s in presented) continue;
        const room = s.slice(5);
        const last = lastRoomOp(scans.slice(0, i), room);
        if (last?.op === 'leave') {
          add({
            kind: 'room-restored',
            t: w.t,
            client: client.index,
            connection: c.id,
            stream: s,
            message: `the resume restored ${s}, which the client had left (left answered at ${ms(last.t)}) and did not present`,
            evidence: [fmtConn(prev.conn), fmtConn(c)],
          });
        }
      }
    }
    // A session presented within its TTL and no Redis data lost meanwhile must resume.
    if (c.presented?.session && prev) {
      const between = conns.filter((x) => x.tOpen > prev.conn.tOpen && x.tOpen < c.tOpen);
      const consumed = between.some((x) => x.presented?.session && !x.welcome);
      const gone = prev.conn.tClose ?? c.tOpen;
      const idle = c.tOpen - Math.min(gone, c.tOpen);
      // (A stale restart loses what was written after its SAVE, at the fault's start: any
      // data-loss fault not over before the credential was issued may have taken it.)
      const lossBetween = dataLoss.some(
        (f) => (f.tEnd ?? f.t) >= prev.conn.welcome!.t - 1_000 && f.t <= w.t,
      );
      if (
        !consumed &&
        !lossBetween &&
        w.clientId !== prev.conn.welcome!.clientId &&
        idle < history.config.sessionTtlMs - opt.sessionMarginMs
      ) {
        add({
          kind: 'session-lost',
          t: w.t,
          client: client.index,
          connection: c.id,
          message: `a session presented ${ms(idle)} after its last connection ended (session TTL ${ms(history.config.sessionTtlMs)}) was not resumed: new client id ${w.clientId} instead of ${prev.conn.welcome!.clientId}`,
          evidence: [fmtConn(prev.conn), fmtConn(c)],
        });
      }
    }
    // A takeover: the old connection must get 4409 once the new one resumed its session.
    if (c.takeoverOf !== undefined) {
      const old = conns.find((x) => x.id === c.takeoverOf);
      if (old && old.welcome && w.clientId === old.welcome.clientId) {
        const closedInTime =
          old.tClose !== undefined &&
          old.tClose <= w.t + opt.takeoverCloseMs &&
          // (1012: a continuity break on its instance closed it first; its resume presents a
          // credential the takeover used, and starts a new session.)
          (old.code === 4409 || old.code === 1012);
        const endedBefore = endOf(old, history.tEnd) < w.t + 50 && old.code !== 4409;
        // The old connection's path was frozen (or the client had stopped reading) when the 4409
        // went out: the close frame could not reach it, and the connection ended otherwise.
        const closeEnd = old.tClose ?? history.tEnd;
        const frozen = history.faults.some(
          (f) =>
            !f.skipped &&
            (((f.kind === 'network-freeze' || f.kind === 'instance-freeze') &&
              f.instance === old.instance) ||
              ((f.kind === 'client-freeze-cut' || f.kind === 'slow-consumer') &&
                f.connection === old.id)) &&
            f.t <= closeEnd &&
            (f.tEnd ?? f.t) >= w.t,
        );
        const cutWhileFrozen =
          frozen && old.tClose !== undefined && old.tClose <= w.t + opt.takeoverCloseMs;
        if (!closedInTime && !endedBefore && !cutWhileFrozen) {
          add({
            kind: 'takeover',
            t: w.t,
            client: client.index,
            connection: c.id,
            message: `conn ${c.id} resumed the session of conn ${old.id} (inst ${old.instance} -> ${c.instance}); the old connection was ${
              old.tClose === undefined
                ? 'never closed'
                : `closed ${ms(old.tClose - w.t)} later with ${old.code} ${old.reason}`
            } (expected 4409 within ${ms(opt.takeoverCloseMs)})`,
            evidence: [fmtConn(old), fmtConn(c)],
          });
        }
      }
    }
  }
}

/**
 * One message taken twice by a client within a chain of resumes that said `recovered: true`
 * (a replay of something it had, a copy without a position and then with one, ...). What a
 * taken-over connection got after its successor opened is not the chain's.
 */
function checkChainDuplicates(
  client: ClientRecord,
  scans: ConnScan[],
  add: (v: Violation) => void,
): void {
  let taken = new Map<string, { t: number; conn: ConnectionRecord }>();
  for (let i = 0; i < scans.length; i++) {
    const scan = scans[i];
    if (scan.conn.welcome?.recovery?.recovered !== true) taken = new Map();
    // Once the client opened its next connection it presents the positions of that moment and
    // no longer processes the old one (a takeover's connection likewise, and should it fail,
    // the next attempt presents them again): frames recorded on the old socket after that were
    // not taken.
    const cutAt = Math.min(
      ...client.connections.filter((c) => c.tOpen > scan.conn.tOpen).map((c) => c.tOpen),
      Infinity,
    );
    for (const a of scan.accepted) {
      if (a.t > cutAt) break;
      const before = taken.get(a.m);
      if (!before) {
        taken.set(a.m, { t: a.t, conn: scan.conn });
        continue;
      }
      const frames = [before.conn, scan.conn].flatMap((c) =>
        c.frames.filter((f) => f.m === a.m).map((f) => fmtFrame(c, f)),
      );
      add({
        kind: 'duplicate',
        t: a.t,
        client: client.index,
        connection: scan.conn.id,
        message: `client ${client.index} took ${a.m} twice (conn ${before.conn.id} at ${ms(before.t)}, conn ${scan.conn.id} at ${ms(a.t)}) within one chain of recovered connections`,
        evidence: [...new Set([fmtConn(before.conn), fmtConn(scan.conn)])].concat(frames),
      });
    }
  }
}

function lastRoomOp(
  scans: ConnScan[],
  room: string,
): { op: 'join' | 'leave'; t: number } | undefined {
  let last: { op: 'join' | 'leave'; t: number } | undefined;
  for (const s of scans) {
    const op = s.roomOps.get(room);
    if (op && (!last || op.t > last.t)) last = op;
    // A join sent and never answered may have been applied: not "left" any more.
    for (const r of s.conn.requests) {
      if (r.room === room && r.op === 'join' && (!last || r.t > last.t))
        last = { op: 'join', t: r.t };
    }
  }
  return last;
}

/** ws-hub/client: what the app saw, per chain of opens that said `recovered: true`. */
function checkApp(
  client: ClientRecord,
  scans: ConnScan[],
  byPosition: Map<string, Map<string, Observation>>,
  add: (v: Violation) => void,
): void {
  let chain: ConnScan[] = [];
  const flush = () => {
    if (chain.length === 0) return;
    const delivered = new Map<string, { t: number; conn: number }>();
    for (const scan of chain) {
      for (const a of scan.conn.app ?? []) {
        const before = delivered.get(a.m);
        if (before) {
          add({
            kind: 'client-duplicate',
            t: a.t,
            client: client.index,
            connection: scan.conn.id,
            message: `ws-hub/client handed ${a.m} to the app twice (conn ${before.conn} at ${ms(before.t)}, conn ${scan.conn.id} at ${ms(a.t)}${a.replayed ? ', replayed' : ''}) within one recovered chain`,
            evidence: chain.map((s) => fmtConn(s.conn)),
          });
        } else delivered.set(a.m, { t: a.t, conn: scan.conn.id });
      }
    }
    // Holes: consecutive positions a < b of one stream and epoch along the chain (frames, and
    // the positions its welcomes continued from), a message between them the app never got.
    // A `joined` position starts the stream afresh (the client was not in the room before).
    const perStream = new Map<string, Point[]>();
    for (const scan of chain) {
      for (const [s, runs] of scan.runs) {
        let list = perStream.get(s);
        if (!list) perStream.set(s, (list = []));
        for (const run of runs) list.push(...run);
      }
    }
    for (const [s, list] of perStream) {
      for (let i = 1; i < list.length; i++) {
        const a = list[i - 1];
        const b = list[i];
        if (b.src === 'joined' || a.epoch !== b.epoch || b.offset <= a.offset + 1) continue;
        for (let k = a.offset + 1; k < b.offset; k++) {
          const there = byPosition.get(`${s}|${a.epoch}|${k}`);
          const got = there && [...there.keys()].some((m) => delivered.has(m));
          if (got) continue;
          add({
            kind: 'client-lost',
            t: b.t,
            client: client.index,
            stream: s,
            message: `ws-hub/client went from ${s}@${a.offset} to @${b.offset} (${a.epoch}${
              b.src === 'welcome' ? ', the position it resumed from' : ''
            }) within one recovered chain; the app never got offset ${k}${
              there ? ` (${[...there.keys()].join(', ')})` : ' (seen by nobody)'
            }`,
            evidence: chain.map((x) => fmtConn(x.conn)),
          });
          break;
        }
      }
    }
    chain = [];
  };
  for (const scan of scans) {
    if (scan.conn.appRecovered !== true) flush();
    chain.push(scan);
  }
  flush();
}

function checkCounts(
  history: History,
  scans: ConnScan[],
  opt: CheckOptions,
  add: (v: Violation) => void,
): void {
  const faultNear = (scan: ConnScan, t: number) =>
    history.faults.some(
      (f) =>
        !f.skipped &&
        (f.connection === scan.conn.id ||
          (f.instance === scan.conn.instance && f.client === undefined) ||
          f.kind.startsWith('redis')) &&
        f.t <= t + opt.stableMs &&
        (f.tEnd ?? f.t) >= t - opt.stableMs * 3,
    );
  const stable = (scan: ConnScan, p: Publication) =>
    scan.conn.welcome!.t < p.tSent - opt.stableMs &&
    endOf(scan.conn, history.tEnd) > p.tAck! + opt.stableMs &&
    !faultNear(scan, p.tSent);
  const inRoomThroughout = (scan: ConnScan, room: string, p: Publication) =>
    (scan.rooms.get(room) ?? []).some(
      ([from, to]) => from < p.tSent - opt.stableMs && to > p.tAck! + opt.stableMs,
    );
  for (const p of history.publications) {
    if (p.tAck === undefined || p.error !== undefined) continue;
    if (p.kind === 'client') {
      if (p.ret !== false) continue;
      const holder = scans.find((s) => s.conn.welcome!.clientId === p.clientId && stable(s, p));
      if (holder) {
        add({
          kind: 'count',
          t: p.tSent,
          client: holder.client.index,
          connection: holder.conn.id,
          message: `send(${p.clientId}) via inst ${p.instance} returned false at ${ms(p.tSent)} while that client was connected (inst ${holder.conn.instance}); ${p.m} was dropped`,
          evidence: [fmtConn(holder.conn)],
        });
      }
      continue;
    }
    if (p.ret !== 0) continue;
    const local = scans.filter((s) => s.conn.instance === p.instance && stable(s, p));
    const holder = local.find(
      (s) =>
        p.kind === 'all' ||
        (p.kind === 'user' && s.conn.welcome!.userId === p.userId) ||
        (p.kind === 'rooms' && (p.rooms ?? []).some((r) => inRoomThroughout(s, r, p))),
    );
    if (holder) {
      add({
        kind: 'count',
        t: p.tSent,
        client: holder.client.index,
        connection: holder.conn.id,
        message: `${p.m} (${describePub(p)}): 0 although client ${holder.client.index} was a recipient on that instance`,
        evidence: [fmtConn(holder.conn)],
      });
    }
  }
}

/**
 * Liveness after the faults: in the quiet tail every raw client's final resume is welcomed,
 * and no connection ends other than by the schedule (a resume storm, a 1012 or 1013 with
 * nothing wrong, a client that finds its connection dead).
 */
function checkQuiet(
  history: History,
  quiet: { from: number; to: number },
  add: (v: Violation) => void,
): void {
  for (const client of history.clients) {
    const after = client.connections.filter((c) => c.tOpen >= quiet.from);
    if (client.kind === 'raw' && !after.some((c) => c.welcome)) {
      add({
        kind: 'unsettled',
        t: quiet.from,
        client: client.index,
        message: `client ${client.index} got no welcome after the faults ended (${after.length} attempts from ${ms(quiet.from)} to ${ms(quiet.to)})`,
        evidence: after.slice(0, 5).map(fmtConn),
      });
    }
    const broken = client.connections.filter(
      (c) =>
        c.tClose !== undefined &&
        c.tClose > quiet.from &&
        c.tClose < quiet.to &&
        c.cause !== 'client-leave' &&
        c.cause !== 'end',
    );
    if (broken.length > 0) {
      add({
        kind: 'unsettled',
        t: broken[0].tClose!,
        client: client.index,
        connection: broken[0].id,
        message: `client ${client.index}: ${broken.length} connection(s) ended after the faults ended (${[
          ...new Set(
            broken.map((c) => `${c.code ?? ''} ${c.reason ?? ''} ${c.cause ?? ''}`.trim()),
          ),
        ].join('; ')})`,
        evidence: broken.slice(0, 5).map(fmtConn),
      });
    }
  }
}

/** All fault kinds with a count (0 included), for the figures. */
export function faultTable(figures: Figures): [FaultKind, number][] {
  return FAULT_KINDS.map((k) => [k, figures.faults[k] ?? 0]);
}

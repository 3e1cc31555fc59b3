import { describe, expect, it } from 'vitest';
import { check, type ViolationKind } from './checker.js';
import type {
  ClientRecord,
  ConnectionRecord,
  FrameRecord,
  History,
  Pos,
  Publication,
  StreamPos,
} from './history.js';

/**
 * The checker on hand-made histories: each kind of violation is found where it is, and a
 * correct history has none (a checker that cannot fail would make the fault schedule a test
 * that cannot fail).
 */

let nextConn = 0;

function history(
  clients: ClientRecord[],
  publications: Publication[] = [],
  extra: Partial<History> = {},
): History {
  return {
    config: {
      seed: 1,
      seconds: 10,
      rawClients: clients.length,
      realClients: 0,
      rooms: [],
      publishRatePerS: 0,
      faults: [],
      sessionTtlMs: 15_000,
      historySize: 1000,
    },
    tEnd: 60_000,
    clients,
    publications,
    faults: [],
    instances: [],
    logs: [],
    ...extra,
  };
}

function client(index: number, connections: ConnectionRecord[], kind: 'raw' | 'real' = 'raw') {
  for (const c of connections) c.client = index;
  return { index, kind, userId: `u${index}`, connections };
}

/** A connection welcomed at `t` with the given streams; `presented` makes it a resume. */
function conn(
  t: number,
  streams: Record<string, [offset: number, epoch: string, recovered?: boolean]>,
  opts: {
    clientId?: string;
    presented?: Record<string, StreamPos>;
    recovered?: boolean;
    instance?: number;
    end?: number;
    code?: number;
    takeoverOf?: number;
  } = {},
): ConnectionRecord {
  return {
    id: ++nextConn,
    client: 0,
    instance: opts.instance ?? 0,
    tOpen: t - 10,
    presented: opts.presented ? { session: true, streams: opts.presented } : undefined,
    welcome: {
      t,
      clientId: opts.clientId ?? 'c1',
      userId: 'u0',
      recovery: {
        recovered: opts.recovered ?? false,
        streams: Object.fromEntries(
          Object.entries(streams).map(([s, [offset, epoch, recovered]]) => [
            s,
            { offset, epoch, ...(recovered !== undefined ? { recovered } : {}) },
          ]),
        ),
      },
    },
    frames: [],
    requests: [],
    ...(opts.end !== undefined
      ? { tStop: opts.end, tClose: opts.end, code: opts.code ?? 1006 }
      : {}),
    ...(opts.takeoverOf !== undefined ? { takeoverOf: opts.takeoverOf } : {}),
  };
}

const push = (t: number, m: string, pos?: Record<string, Pos>, event = 'b'): FrameRecord => ({
  t,
  event,
  m,
  ...(pos ? { pos } : {}),
});

const pub = (m: string, t: number, extra: Partial<Publication> = {}): Publication => ({
  m,
  kind: 'all',
  instance: 0,
  tSent: t,
  tAck: t + 1,
  ret: 1,
  pad: 0,
  ...extra,
});

const kinds = (h: History): ViolationKind[] => [...new Set(check(h).violations.map((v) => v.kind))];

/** A fresh connection in `all` (epoch A) that got all@1..n. */
function steady(n: number, t0 = 1_000): ConnectionRecord {
  const c = conn(t0, { all: [0, 'A'] });
  for (let i = 1; i <= n; i++) c.frames.push(push(t0 + i * 100, `m${i}`, { all: [i, 'A'] }));
  return c;
}

describe('checker', () => {
  it('finds nothing wrong in a correct history, across a resume with a replay', () => {
    const c1 = steady(3);
    c1.tStop = c1.tClose = 1_500;
    const c2 = conn(
      2_000,
      { all: [5, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 3 } },
        recovered: true,
      },
    );
    c2.frames.push(push(2_010, 'm4', { all: [4, 'A'] }), push(2_020, 'm5', { all: [5, 'A'] }));
    const pubs = [1, 2, 3, 4, 5].map((i) => pub(`m${i}`, 1_000 + i * 100));
    const result = check(history([client(0, [c1, c2])], pubs));
    expect(result.violations).toEqual([]);
    expect(result.figures.positionedFrames).toBe(5);
  });

  it('a gap, a duplicate and an epoch change on a live connection', () => {
    const gap = steady(2);
    gap.frames.push(push(2_000, 'm9', { all: [4, 'A'] }));
    expect(kinds(history([client(0, [gap])]))).toEqual(['gap']);

    const dup = steady(2);
    dup.frames.push(push(2_000, 'm2', { all: [2, 'A'] }));
    expect(kinds(history([client(0, [dup])]))).toEqual(['duplicate']);

    const epoch = steady(2);
    epoch.frames.push(push(2_000, 'm3', { all: [3, 'B'] }));
    expect(kinds(history([client(0, [epoch])]))).toEqual(['epoch-change']);
  });

  it('one message twice: without a position and then with one, or again after a resume', () => {
    const c = steady(2);
    c.frames.push(push(1_250, 'm3'), push(1_300, 'm3', { all: [3, 'A'] }));
    expect(kinds(history([client(0, [c])]))).toEqual(['duplicate']);

    const c1 = steady(2);
    c1.tStop = c1.tClose = 1_500;
    c1.frames.push(push(1_400, 'm3'));
    const c2 = conn(
      2_000,
      { all: [3, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 2 } },
        recovered: true,
      },
    );
    c2.frames.push(push(2_010, 'm3', { all: [3, 'A'] }));
    expect(kinds(history([client(0, [c1, c2])]))).toEqual(['duplicate']);
    // The resume said recovered: false: the app refetches, a repeat is no violation.
    c2.welcome!.recovery!.recovered = false;
    c2.welcome!.recovery!.streams.all.recovered = false;
    expect(kinds(history([client(0, [c1, c2])]))).toEqual([]);
  });

  it('a frame broken in one of its streams is not taken: sent again, it is no duplicate', () => {
    const frame = () => push(1_100, 'm1', { all: [1, 'A'], 'room:r5': [9, 'OLD'] }, 'r');
    const c1 = conn(1_000, { all: [0, 'A'], 'room:r5': [3, 'NEW'] }, { end: 1_200 });
    c1.frames.push(frame());
    const c2 = conn(
      2_000,
      { all: [0, 'A', true], 'room:r5': [3, 'NEW', true] },
      {
        presented: { all: { epoch: 'A', offset: 0 }, 'room:r5': { epoch: 'NEW', offset: 3 } },
        recovered: true,
      },
    );
    c2.frames.push({ ...frame(), t: 2_010 });
    expect(kinds(history([client(0, [c1, c2])]))).toEqual(['epoch-change']);
  });

  it('a skip frame steps over offsets like any frame', () => {
    const c = steady(2);
    c.frames.push({ t: 1_300, event: 'skip', pos: { all: [3, 'A'] } });
    c.frames.push(push(1_400, 'm4', { all: [4, 'A'] }));
    const result = check(history([client(0, [c])]));
    expect(result.violations).toEqual([]);
    expect(result.figures.skipFrames).toBe(1);
    c.frames.push({ t: 1_500, event: 'skip', pos: { all: [6, 'A'] } });
    expect(kinds(history([client(0, [c])]))).toEqual(['gap']);
  });

  it('a frame at or below where a join started the room is not a duplicate', () => {
    const c = conn(1_000, { all: [0, 'A'] });
    c.requests.push({ t: 1_100, op: 'join', room: 'r1', id: 'j1' });
    c.frames.push(
      { t: 1_150, event: 'joined', id: 'j1', data: { room: 'r1', pos: [5, 'R'] } },
      push(1_160, 'm5', { 'room:r1': [5, 'R'] }, 'r'),
      push(1_170, 'm6', { 'room:r1': [6, 'R'] }, 'r'),
    );
    expect(check(history([client(0, [c])])).violations).toEqual([]);
  });

  it('a frame in a joined room and a room being joined is taken once', () => {
    const c = conn(1_000, { all: [0, 'A'], 'room:r0': [56, 'Z'] });
    c.requests.push({ t: 1_100, op: 'join', room: 'r1', id: 'j1' });
    c.frames.push(push(1_150, 'm63', { 'room:r1': [63, 'R'], 'room:r0': [57, 'Z'] }, 'r'), {
      t: 1_160,
      event: 'joined',
      id: 'j1',
      data: { room: 'r1', pos: [62, 'R'] },
    });
    expect(check(history([client(0, [c])])).violations).toEqual([]);
  });

  it('a replay that resends what the client presented is a duplicate', () => {
    const c = conn(
      1_000,
      { all: [3, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 3 } },
        recovered: true,
      },
    );
    c.frames.push(push(1_010, 'm3', { all: [3, 'A'] }));
    expect(kinds(history([client(0, [c])]))).toEqual(['duplicate']);
  });

  it('recovered: true across an epoch change or an offset rolled back', () => {
    const epoch = conn(
      1_000,
      { all: [7, 'B', true] },
      {
        presented: { all: { epoch: 'A', offset: 5 } },
        recovered: true,
      },
    );
    expect(kinds(history([client(0, [epoch])]))).toContain('false-recovered');
    const back = conn(
      1_000,
      { all: [3, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 5 } },
        recovered: true,
      },
    );
    expect(kinds(history([client(0, [back])]))).toContain('false-recovered');
    const missing = conn(
      1_000,
      { all: [5, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 5 }, 'room:r1': { epoch: 'R', offset: 2 } },
        recovered: true,
      },
    );
    expect(kinds(history([client(0, [missing])]))).toEqual(['false-recovered']);
  });

  it('two messages at one offset, and one message at two offsets', () => {
    const a = steady(2);
    const b = conn(1_000, { all: [0, 'A'] });
    b.frames.push(push(1_100, 'm1', { all: [1, 'A'] }), push(1_200, 'mX', { all: [2, 'A'] }));
    expect(kinds(history([client(0, [a]), client(1, [b])]))).toEqual(['offset-reuse']);

    const c = conn(1_000, { all: [0, 'A'] });
    c.frames.push(push(1_100, 'm1', { all: [1, 'A'] }), push(1_200, 'm1', { all: [2, 'A'] }));
    // (and the client that took both copies got it twice)
    expect(kinds(history([client(0, [c])]))).toEqual(['double-recorded', 'duplicate']);
  });

  it('a message published while a client moved on without a gap: lost', () => {
    const c = conn(1_000, { all: [0, 'A'] });
    c.frames.push(push(1_100, 'm1', { all: [1, 'A'] }), push(20_000, 'm3', { all: [2, 'A'] }));
    const pubs = [pub('m1', 1_050), pub('m2', 2_000), pub('m3', 19_990)];
    const v = check(history([client(0, [c])], pubs)).violations;
    expect(v.map((x) => x.kind)).toEqual(['lost']);
    expect(v[0].message).toContain('m2');
    // Its instance was killed meanwhile: the publish may never have left it.
    const killed = history([client(0, [c])], pubs, {
      faults: [{ kind: 'instance-kill', t: 2_500, tEnd: 4_000, instance: 0 }],
    });
    expect(kinds(killed)).toEqual([]);
  });

  it('a connection that stays behind while others move on: stalled', () => {
    const behind = conn(1_000, { all: [0, 'A'] });
    behind.frames.push(push(1_100, 'm1', { all: [1, 'A'] }));
    const ahead = steady(3);
    expect(kinds(history([client(0, [behind]), client(1, [ahead])]))).toEqual(['stalled']);
    behind.tStop = behind.tClose = 5_000; // it ended soon after: in flight, not stalled
    expect(kinds(history([client(0, [behind]), client(1, [ahead])]))).toEqual([]);
  });

  it('a position in a room the client is not in, and a message that was not for it', () => {
    const c = conn(1_000, { all: [0, 'A'], 'room:r1': [0, 'R'] });
    c.frames.push(push(1_100, 'm1', { 'room:r1': [1, 'R'], 'room:secret': [1, 'S'] }, 'r'));
    const pubs = [pub('m1', 1_050, { kind: 'rooms', rooms: ['r1', 'secret'] })];
    expect(kinds(history([client(0, [c])], pubs))).toEqual(['room-leak']);

    const d = conn(1_000, { all: [0, 'A'], 'room:r1': [0, 'R'] });
    d.frames.push(push(1_100, 'm2', undefined, 'r'));
    const other = [pub('m2', 1_050, { kind: 'rooms', rooms: ['r2'] })];
    expect(kinds(history([client(0, [d])], other))).toEqual(['misdelivered']);
  });

  it('a frame of a room after its leave was answered is a leak; in flight before, it is not', () => {
    const c = conn(1_000, { all: [0, 'A'], 'room:r1': [0, 'R'] });
    c.requests.push({ t: 1_100, op: 'leave', room: 'r1', id: 'l1' });
    c.frames.push(push(1_120, 'm1', { 'room:r1': [1, 'R'] }, 'r'), {
      t: 1_150,
      event: 'left',
      id: 'l1',
      data: { room: 'r1' },
    });
    expect(kinds(history([client(0, [c])]))).toEqual([]);
    c.frames.push(push(1_200, 'm2', { 'room:r1': [2, 'R'] }, 'r'));
    expect(kinds(history([client(0, [c])]))).toEqual(['room-leak']);
  });

  it('join then leave: replies out of order, and frames of the room after both answers', () => {
    const c = conn(1_000, { all: [0, 'A'] });
    c.requests.push(
      { t: 1_100, op: 'join', room: 'r1', id: 'j1' },
      { t: 1_101, op: 'leave', room: 'r1', id: 'l2' },
    );
    c.frames.push(
      { t: 1_120, event: 'joined', id: 'j1', data: { room: 'r1', pos: [4, 'R'] } },
      { t: 1_130, event: 'left', id: 'l2', data: { room: 'r1' } },
    );
    expect(kinds(history([client(0, [c])]))).toEqual([]);
    c.frames.push(push(1_200, 'm5', { 'room:r1': [5, 'R'] }, 'r'));
    expect(kinds(history([client(0, [c])]))).toEqual(['room-leak']);
    // `left` first, then `joined`: the order is wrong, and the client is still not in the room.
    c.frames.reverse();
    c.frames.sort((a, b) => (a.event === 'left' ? -1 : b.event === 'left' ? 1 : a.t - b.t));
    c.frames[0].t = 1_115;
    expect(kinds(history([client(0, [c])]))).toEqual(['join-leave-order', 'room-leak']);
  });

  it('a resume that restores a room the client left', () => {
    const c1 = conn(1_000, { all: [0, 'A'], 'room:r1': [0, 'R'] }, { end: 2_000 });
    c1.requests.push({ t: 1_100, op: 'leave', room: 'r1', id: 'l1' });
    c1.frames.push({ t: 1_150, event: 'left', id: 'l1', data: { room: 'r1' } });
    const c2 = conn(
      2_500,
      { all: [0, 'A', true], 'room:r1': [0, 'R'] },
      {
        presented: { all: { epoch: 'A', offset: 0 } },
        recovered: true,
      },
    );
    expect(kinds(history([client(0, [c1, c2])]))).toEqual(['room-restored']);
  });

  it('a takeover whose old connection is not closed with 4409', () => {
    const old = conn(1_000, { all: [0, 'A'] }, { end: 20_000 });
    const next = conn(
      2_000,
      { all: [0, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 0 } },
        recovered: true,
        takeoverOf: old.id,
      },
    );
    expect(kinds(history([client(0, [old, next])]))).toEqual(['takeover']);
    old.tClose = old.tStop = 2_100;
    old.code = 4409;
    expect(kinds(history([client(0, [old, next])]))).toEqual([]);
  });

  it('a session presented within its TTL that does not resume', () => {
    const c1 = conn(1_000, { all: [0, 'A'] }, { end: 2_000 });
    const c2 = conn(
      3_000,
      { all: [0, 'A'] },
      {
        clientId: 'c2',
        presented: { all: { epoch: 'A', offset: 0 } },
      },
    );
    expect(kinds(history([client(0, [c1, c2])]))).toEqual(['session-lost']);
    // Redis restarted empty in between: sessions are gone, a fresh one is right.
    const wiped = history([client(0, [c1, c2])], [], {
      faults: [{ kind: 'redis-restart-empty', t: 2_500, tEnd: 2_600 }],
    });
    expect(kinds(wiped)).toEqual([]);
    // A stale restart that began before the credential was issued and ended after it.
    const stale = history([client(0, [c1, c2])], [], {
      faults: [{ kind: 'redis-restart-stale', t: 500, tEnd: 2_600 }],
    });
    expect(kinds(stale)).toEqual([]);
  });

  it('a publish that returns 0 while a stable local client receives it', () => {
    const c = steady(0);
    c.tStop = c.tClose = 30_000;
    expect(kinds(history([client(0, [c])], [pub('m1', 5_000, { ret: 0 })]))).toEqual(['count']);
    expect(kinds(history([client(0, [c])], [pub('m1', 5_000, { ret: 1 })]))).toEqual([]);
  });

  it('ws-hub/client: a message the app never got, and one it got twice, in a recovered chain', () => {
    const c1 = conn(1_000, { all: [0, 'A'] });
    c1.app = [
      { t: 1_100, m: 'm1', replayed: false },
      { t: 1_300, m: 'm3', replayed: false },
    ];
    c1.frames.push(push(1_100, 'm1', { all: [1, 'A'] }), push(1_300, 'm3', { all: [3, 'A'] }));
    const other = steady(3);
    const v = check(history([client(0, [c1], 'real'), client(1, [other])])).violations;
    expect(v.map((x) => x.kind).sort()).toEqual(['client-lost', 'gap']);

    const d1 = steady(2);
    d1.tStop = d1.tClose = 1_500;
    d1.app = [
      { t: 1_100, m: 'm1', replayed: false },
      { t: 1_200, m: 'm2', replayed: false },
    ];
    const d2 = conn(
      2_000,
      { all: [2, 'A', true] },
      {
        presented: { all: { epoch: 'A', offset: 2 } },
        recovered: true,
      },
    );
    d2.appRecovered = true;
    d2.app = [{ t: 2_010, m: 'm2', replayed: true }];
    expect(kinds(history([client(0, [d1, d2], 'real')]))).toEqual(['client-duplicate']);
  });

  it('after the faults: a resume storm, or a client that never gets back', () => {
    const c1 = conn(1_000, { all: [0, 'A'] }, { end: 30_000, code: 1012 });
    c1.cause = 'server-close';
    const c2 = conn(31_000, { all: [0, 'A'] });
    const quiet = { quiet: { from: 20_000, to: 40_000 } };
    expect(kinds(history([client(0, [c1, c2])], [], quiet))).toEqual(['unsettled']);
    c1.cause = 'client-leave';
    expect(kinds(history([client(0, [c1, c2])], [], quiet))).toEqual([]);
    const never = conn(1_000, { all: [0, 'A'] }, { end: 20_000 });
    never.cause = 'client-leave';
    const attempt = { ...conn(21_000, {}), welcome: undefined };
    expect(kinds(history([client(0, [never, attempt])], [], quiet))).toEqual(['unsettled']);
  });

  it('an instance that exits by itself', () => {
    const h = history([], [], {
      instances: [{ t: 5_000, instance: 1, what: 'exit', code: 1, signal: null, unexpected: true }],
    });
    expect(kinds(h)).toEqual(['instance-crash']);
  });
});

import { describe, expect, it } from 'vitest';
import { createPositions } from '../../../src/ws-hub/client/positions.js';
import type { HubWelcome } from '../../../src/ws-hub/client/index.js';

const welcome = (recovery?: object): HubWelcome =>
  ({
    clientId: 'c1',
    userId: 'u',
    pingIntervalMs: 25_000,
    protocol: 1,
    maxPayloadBytes: 65_536,
    ...(recovery ? { recovery } : {}),
  }) as HubWelcome;

const STREAMS = {
  all: { epoch: 'e', offset: 3 },
  'client:c1': { epoch: 'c', offset: 0 },
  'user:u': { epoch: 'u', offset: 1 },
};

/** Positions after a first welcome (all at 3, client:c1 at 0, user:u at 1), in `rooms`. */
function started(rooms: Record<string, number> = {}) {
  const p = createPositions();
  const streams: Record<string, object> = { ...STREAMS };
  for (const [room, offset] of Object.entries(rooms))
    streams[`room:${room}`] = { epoch: `e-${room}`, offset };
  p.welcome(welcome({ session: 'S1', recovered: false, streams }), new Set(Object.keys(rooms)));
  return p;
}

const at = (p: ReturnType<typeof createPositions>, stream: string) => p.request().streams[stream];

describe('client positions: the welcome', () => {
  it('keeps the credential out of the welcome and presents the streams the client is in', () => {
    const p = createPositions();
    const w = welcome({
      session: 'S1',
      recovered: false,
      streams: { ...STREAMS, 'room:gone': { epoch: 'g', offset: 1 } },
    });
    expect(p.welcome(w, new Set())).toEqual({
      rejoin: [],
      refused: [],
      leave: ['gone'],
      recovered: false,
    });
    expect(w.recovery).not.toHaveProperty('session');
    expect(p.request()).toEqual({ session: 'S1', streams: STREAMS });
    // positions of streams the client is not in are not followed
    expect(p.frame({ 'room:x': [5, 'x'], all: [4, 'e'] })).toBe(2);
    expect(p.request().streams).toEqual({ ...STREAMS, all: { epoch: 'e', offset: 4 } });
  });

  it('forgets everything on a plain v1 welcome (no recovery in it)', () => {
    const p = started();
    expect(p.welcome(welcome(), new Set(['a']))).toEqual({
      rejoin: ['a'],
      refused: [],
      leave: [],
      recovered: undefined,
    });
    expect(p.request()).toEqual({ session: undefined, streams: {} });
  });

  it('rejoins what was not restored, reports what was refused, leaves what was left', () => {
    const streams = { 'room:a': { epoch: 'e', offset: 1, recovered: true } };
    const plan = (rooms: string[], recovery: object, pending?: string[]) =>
      createPositions().welcome(welcome(recovery), new Set(rooms), pending && new Set(pending));
    expect(plan(['a', 'b', 'vip'], { recovered: false, streams, refusedRooms: ['vip'] })).toEqual({
      rejoin: ['b'],
      refused: ['vip'],
      leave: [],
      recovered: false,
    });
    expect(plan([], { recovered: true, streams })).toEqual({
      rejoin: [],
      refused: [],
      leave: ['a'],
      recovered: true,
    });
    // complete only when every remembered room came back with the session, or was never joined
    expect(plan(['a'], { recovered: true, streams }).recovered).toBe(true);
    expect(plan(['a', 'b'], { recovered: true, streams }).recovered).toBe(false);
    expect(plan(['a', 'b'], { recovered: true, streams }, ['b']).recovered).toBe(true);
  });

  it('a recovered stream continues from the client’s own position, others from the welcome’s', () => {
    const p = started({ a: 5 });
    p.welcome(
      welcome({
        session: 'S2',
        recovered: false,
        streams: {
          all: { epoch: 'e', offset: 6, recovered: true }, // the replay of 4..6 follows
          'client:c1': { epoch: 'c', offset: 0, recovered: true },
          'user:u': { epoch: 'u2', offset: 9, recovered: false }, // another epoch
          'room:a': { epoch: 'e-a', offset: 8, recovered: false }, // trimmed past the client
        },
      }),
      new Set(['a']),
    );
    expect(p.request().streams).toEqual({
      all: { epoch: 'e', offset: 3 },
      'client:c1': { epoch: 'c', offset: 0 },
      'user:u': { epoch: 'u2', offset: 9 },
      'room:a': { epoch: 'e-a', offset: 8 },
    });
    // the replay is marked replayed (3), up to the welcome's offset; then live (2)
    expect([4, 5, 6, 7].map((o) => p.frame({ all: [o, 'e'] }))).toEqual([3, 3, 3, 2]);
    expect(p.frame({ 'room:a': [9, 'e-a'] })).toBe(2);
  });
});

describe('client positions: the continuity rule', () => {
  it('the next offset in the same epoch advances; at or below it is a duplicate (1)', () => {
    const p = started();
    expect(p.frame({ all: [4, 'e'] })).toBe(2);
    expect(p.frame({ all: [4, 'e'] })).toBe(1);
    expect(p.frame({ all: [2, 'e'] })).toBe(1);
    expect(p.frame({ all: [5, 'e'] })).toBe(2);
    expect(at(p, 'all')).toEqual({ epoch: 'e', offset: 5 });
  });

  it('a gap or another epoch is lost continuity (0), and the frame changes nothing', () => {
    const p = started();
    expect(p.frame({ all: [5, 'e'] })).toBe(0); // 4 is missing
    expect(p.frame({ all: [4, 'other'] })).toBe(0); // the history was lost
    expect(p.frame({ all: [1, 'other'] })).toBe(0);
    // a message in two streams: the good one does not move either
    expect(p.frame({ 'user:u': [2, 'u'], all: [9, 'e'] })).toBe(0);
    expect(p.request().streams).toEqual(STREAMS);
  });

  it('offset 0 is "nothing yet": offset 1 of any epoch follows, more is a gap', () => {
    const p = started();
    expect(p.frame({ 'client:c1': [2, 'c'] })).toBe(0);
    expect(p.frame({ 'client:c1': [1, 'new'] })).toBe(2);
    expect(at(p, 'client:c1')).toEqual({ epoch: 'new', offset: 1 });
  });

  it('a message in several streams is new if it is new in one of them', () => {
    const p = started({ a: 2, b: 7 });
    expect(p.frame({ 'room:a': [3, 'e-a'], 'room:b': [8, 'e-b'] })).toBe(2);
    expect(p.frame({ 'room:a': [3, 'e-a'], 'room:b': [8, 'e-b'] })).toBe(1);
    expect(p.frame({ 'room:a': [3, 'e-a'], 'room:b': [9, 'e-b'] })).toBe(2);
    expect(p.frame({ 'room:a': [3, 'e-a'], 'room:b': [11, 'e-b'] })).toBe(0);
  });

  it('a malformed position is lost continuity in its own stream, ignored elsewhere; never a throw', () => {
    const p = started();
    expect(p.frame({ all: null as never })).toBe(0);
    expect(p.frame({ all: 'x' as never })).toBe(0);
    expect(p.frame({ 'x:y': 5 as never, 'room:z': null as never })).toBe(2);
    expect(p.request().streams).toEqual(STREAMS);
  });
});

describe('client positions: mid (Redis Cluster copies)', () => {
  it('a copy of a message already handed over advances its stream but is not a message (1)', () => {
    const p = started({ a: 0, b: 0 });
    expect(p.frame({ 'room:a': [1, 'e-a'] }, 'm1')).toBe(2);
    expect(p.frame({ 'room:b': [1, 'e-b'] }, 'm1')).toBe(1);
    expect(at(p, 'room:b')).toEqual({ epoch: 'e-b', offset: 1 });
    // the copy must still follow: a gapped copy is lost continuity
    expect(p.frame({ 'room:b': [3, 'e-b'] }, 'm1')).toBe(0);
  });

  it('remembers the last 256 mids (a ring): older ones are forgotten', () => {
    const p = started();
    for (let i = 0; i < 257; i++) expect(p.frame({ all: [4 + i, 'e'] }, `m${i}`)).toBe(2);
    expect(p.frame({ all: [261, 'e'] }, 'm1')).toBe(1); // still remembered
    expect(p.frame({ all: [262, 'e'] }, 'm0')).toBe(2); // the oldest, forgotten
  });
});

describe('client positions: joins', () => {
  /** A join of `room` in flight; `settle()` ends it (as the reply promise would). */
  function join(p: ReturnType<typeof createPositions>, room: string) {
    let settle!: () => void;
    const reply = p.joining(room, new Promise<void>((resolve) => (settle = resolve)));
    return {
      settle: async () => {
        settle();
        await reply;
      },
    };
  }

  it('frames that arrive before the joined reply must continue its position', async () => {
    const p = started();
    const j = join(p, 'a');
    expect(p.frame({ 'room:a': [8, 'ea'] })).toBe(2);
    expect(p.frame({ 'room:a': [8, 'ea'] })).toBe(1); // a duplicate already
    expect(p.frame({ 'room:a': [9, 'ea'] })).toBe(2);
    expect(p.frame({ 'room:a': [11, 'ea'] })).toBe(0); // a gap already
    expect(p.room('a', [7, 'ea'])).toBe(true); // 8 follows 7
    await j.settle();
    expect(at(p, 'room:a')).toEqual({ epoch: 'ea', offset: 9 });
    expect(p.frame({ 'room:a': [10, 'ea'] })).toBe(2);
  });

  it('the reply may be newer than the frames before it (those were at or below it)', async () => {
    const p = started();
    const j = join(p, 'a');
    p.frame({ 'room:a': [8, 'ea'] });
    expect(p.room('a', [8, 'ea'])).toBe(true);
    await j.settle();
    expect(at(p, 'room:a')).toEqual({ epoch: 'ea', offset: 8 });
    const k = join(p, 'b');
    expect(p.room('b', [0, 'eb'])).toBe(true); // no frame meanwhile: the reply's position
    await k.settle();
    expect(at(p, 'room:b')).toEqual({ epoch: 'eb', offset: 0 });
  });

  it('frames that do not continue the reply are lost continuity; their position is dropped', async () => {
    const p = started();
    const j = join(p, 'a');
    p.frame({ 'room:a': [9, 'ea'] });
    expect(p.room('a', [7, 'ea'])).toBe(false); // 8 was missed
    await j.settle();
    expect(p.request().streams).not.toHaveProperty('room:a');
    const k = join(p, 'b');
    p.frame({ 'room:b': [3, 'eb'] });
    expect(p.room('b', [2, 'other'])).toBe(false); // another epoch
    await k.settle();
    expect(p.request().streams).not.toHaveProperty('room:b');
    const l = join(p, 'c');
    p.frame({ 'room:c': [1, 'ec'] });
    expect(p.room('c', [0, ''])).toBe(true); // offset 0: "nothing yet", any epoch
    await l.settle();
    expect(at(p, 'room:c')).toEqual({ epoch: 'ec', offset: 1 });
  });

  it('a join that fails drops the position its frames gave; a leave drops the room', async () => {
    const p = started({ b: 4 });
    const j = join(p, 'a');
    p.frame({ 'room:a': [3, 'ea'] });
    await j.settle(); // no joined reply: refused, timed out or disconnected
    expect(p.request().streams).not.toHaveProperty('room:a');
    expect(p.frame({ 'room:a': [4, 'ea'] })).toBe(2); // not followed any more
    expect(p.request().streams).not.toHaveProperty('room:a');
    p.room('b');
    expect(p.request().streams).not.toHaveProperty('room:b');
    expect(p.frame({ 'room:b': [9, 'e-b'] })).toBe(2);
  });

  it('a second joined reply for a room it is in changes nothing', () => {
    const p = started({ a: 4 });
    expect(p.room('a', [2, 'e-a'])).toBe(true);
    expect(at(p, 'room:a')).toEqual({ epoch: 'e-a', offset: 4 });
  });

  it('a leave while the join is in flight: later frames of the room are not followed', async () => {
    const p = started();
    const j = join(p, 'a');
    p.frame({ 'room:a': [3, 'ea'] });
    p.room('a');
    expect(p.frame({ 'room:a': [4, 'ea'] })).toBe(2);
    expect(p.request().streams).not.toHaveProperty('room:a');
    await j.settle();
    expect(p.request().streams).not.toHaveProperty('room:a');
  });
});

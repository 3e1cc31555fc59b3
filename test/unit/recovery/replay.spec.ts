import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import type {
  HistoryEntry,
  StreamHistory,
} from '../../../src/ws-hub/interfaces/recovery.interface.js';
import { positionedFrame, type Positions } from '../../../src/ws-hub/protocol/streams.js';
import { missedMessages, plainOf } from '../../../src/ws-hub/recovery/replay.js';

/** An entry whose text is a real positioned frame of `data`. */
const entry = (data: string, positions: Positions, at: number, extra = {}): HistoryEntry => ({
  text: positionedFrame(`{"event":"e","data":"${data}"}`, positions),
  positions,
  at,
  ...extra,
});
const hist = (stream: string, entries: HistoryEntry[]): StreamHistory => ({
  stream,
  epoch: 'E',
  top: entries.length,
  entries,
  complete: true,
});
/** A client in `rooms` (its streams: all, its own, its rooms'). */
function client(rooms: string[] = []): Connection {
  const c = new Connection('i.c', {} as never, 0, undefined, undefined);
  c.rooms = new Set(rooms);
  return c;
}
/** `[data, pos]` per frame; a `skip` frame is `['(skip)', pos]`. */
const frames = (texts: string[]) =>
  texts.map((t) => {
    const f = JSON.parse(t) as { event: string; data: string; pos: Positions };
    return [f.event === 'skip' ? '(skip)' : f.data, f.pos];
  });

describe('missedMessages', () => {
  it('merges streams by append time, keeping each stream in order', () => {
    const all = hist('all', [entry('a1', { all: [1, 'E'] }, 1), entry('a2', { all: [2, 'E'] }, 4)]);
    const room = hist('room:r', [
      entry('r1', { 'room:r': [1, 'E'] }, 2),
      entry('r2', { 'room:r': [2, 'E'] }, 3),
    ]);
    const out = missedMessages([all, room], new Map(), client(['r']));
    expect(frames(out).map(([d]) => d)).toEqual(['a1', 'r1', 'r2', 'a2']);
  });

  it('sends a multi-room message once; a skip when the client had it in another stream', () => {
    const both: Positions = { 'room:a': [5, 'E'], 'room:b': [9, 'E'] };
    const a = hist('room:a', [entry('m', both, 1)]);
    const b = hist('room:b', [entry('m', both, 1)]);
    expect(frames(missedMessages([a, b], new Map(), client(['a', 'b'])))).toEqual([['m', both]]);
    // Had in a (offset 5), b's read starts before it: b must still step over offset 9.
    const hadInA = new Map([['room:a', { epoch: 'E', offset: 5 }]]);
    expect(frames(missedMessages([b], hadInA, client(['a', 'b'])))).toEqual([
      ['(skip)', { 'room:b': [9, 'E'] }],
    ]);
  });

  it("shows only the positions of the client's own streams (no room names leak)", () => {
    const both: Positions = { 'room:public': [5, 'E'], 'room:dm:alice:carol': [9, 'F'] };
    const out = missedMessages(
      [hist('room:public', [entry('m', both, 1)])],
      new Map(),
      client(['public']),
    );
    expect(frames(out)).toEqual([['m', { 'room:public': [5, 'E'] }]]);
  });

  it("dedupes copies appended separately by their message id, carrying every copy's position", () => {
    const a = hist('room:a', [entry('m', { 'room:a': [1, 'E'] }, 1, { id: 'o:1' })]);
    const b = hist('room:b', [entry('m', { 'room:b': [1, 'F'] }, 1.5, { id: 'o:1' })]);
    const out = missedMessages([a, b], new Map(), client(['a', 'b']));
    expect(frames(out)).toEqual([['m', { 'room:a': [1, 'E'], 'room:b': [1, 'F'] }]]);
  });

  it('steps over what excluded the client with a skip frame, so its offsets stay contiguous', () => {
    const all = hist('all', [
      entry('x', { all: [1, 'E'] }, 1, { except: ['i.c'] }),
      entry('y', { all: [2, 'E'] }, 2),
    ]);
    expect(frames(missedMessages([all], new Map(), client()))).toEqual([
      ['(skip)', { all: [1, 'E'] }],
      ['y', { all: [2, 'E'] }],
    ]);
  });

  it('plainOf takes the positions back off a positioned frame (a "pos" key inside data stays)', () => {
    const plain = '{"event":"e","data":{"a":1,"pos":2}}';
    expect(plainOf(positionedFrame(plain, { all: [3, 'E'] }))).toBe(plain);
  });
});

describe('missedMessages across Redis Cluster nodes', () => {
  it("keeps each stream in order when the copies of a message carry other nodes' times", () => {
    // x4 is in lobby and attic; solo3 (attic 5) was appended before it on attic's node, but
    // lobby's node appended x4 earlier by its clock.
    const lobby = hist('room:lobby', [entry('x4', { 'room:lobby': [5, 'L'] }, 10, { id: 'c:4' })]);
    const attic = hist('room:attic', [
      entry('solo3', { 'room:attic': [5, 'A'] }, 12),
      entry('x4', { 'room:attic': [6, 'A'] }, 13, { id: 'c:4' }),
    ]);
    const sent = new Set<string>();
    const out = frames(missedMessages([lobby, attic], new Map(), client(['lobby', 'attic']), sent));
    expect(out).toEqual([
      ['solo3', { 'room:attic': [5, 'A'] }],
      ['x4', { 'room:lobby': [5, 'L'], 'room:attic': [6, 'A'] }],
    ]);
    expect([...sent]).toEqual(['c:4']);
  });

  it('copies in opposite orders in two streams (two publishers crossed): each stream stays contiguous, each message once', () => {
    // m then n in a; n then m in b: no single order keeps both, so the first goes out with a's
    // position only and its b copy becomes a skip when its turn comes.
    const a = hist('room:a', [
      entry('m', { 'room:a': [1, 'A'] }, 1, { id: 'x:1' }),
      entry('n', { 'room:a': [2, 'A'] }, 3, { id: 'y:1' }),
    ]);
    const b = hist('room:b', [
      entry('n', { 'room:b': [1, 'B'] }, 2, { id: 'y:1' }),
      entry('m', { 'room:b': [2, 'B'] }, 4, { id: 'x:1' }),
    ]);
    const out = frames(missedMessages([a, b], new Map(), client(['a', 'b'])));
    const events = out.filter(([d]) => d !== '(skip)').map(([d]) => d);
    expect(events.sort()).toEqual(['m', 'n']);
    // Every offset of each stream exactly once, in order.
    for (const [stream, pre] of [
      ['room:a', 'A'],
      ['room:b', 'B'],
    ] as const) {
      const offsets = out.flatMap(([, pos]) =>
        (pos as Positions)[stream] ? [(pos as Positions)[stream]] : [],
      );
      expect(offsets).toEqual([
        [1, pre],
        [2, pre],
      ]);
    }
  });

  it('a copy the client had through another stream (its position there) is a skip', () => {
    const b = hist('room:b', [entry('m', { 'room:b': [2, 'B'] }, 4, { id: 'x:1' })]);
    const a = hist('room:a', [entry('m', { 'room:a': [1, 'A'] }, 1, { id: 'x:1' })]);
    const asked = new Map([
      ['room:a', { epoch: 'A', offset: 0 }],
      ['room:b', { epoch: 'B', offset: 1 }],
    ]);
    // Both copies read: the client gets m once, with both positions.
    expect(frames(missedMessages([a, b], asked, client(['a', 'b'])))).toEqual([
      ['m', { 'room:a': [1, 'A'], 'room:b': [2, 'B'] }],
    ]);
  });

  it('leaves out a position in an older epoch of a stream the welcome renewed', () => {
    // m is in room:b's history (replayed) and was in room:a's old epoch A; room:a now is at N.
    const b = hist('room:b', [entry('m', { 'room:a': [94, 'A'], 'room:b': [3, 'E'] }, 1)]);
    const asked = new Map([['room:b', { offset: 2, epoch: 'E' }]]);
    const epochs = new Map([
      ['room:a', 'N'],
      ['room:b', 'E'],
    ]);
    const c = client(['a', 'b']);
    expect(frames(missedMessages([b], asked, c, undefined, undefined, epochs))).toEqual([
      ['m', { 'room:b': [3, 'E'] }],
    ]);
  });
});

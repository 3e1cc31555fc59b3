import { describe, expect, it } from 'vitest';
import { HubClient } from '../../../src/ws-hub/core/hub-client.js';
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
function client(rooms: string[] = []): HubClient {
  const c = new HubClient('i.c', {} as never, 0, undefined, undefined);
  c.rooms = new Set(rooms);
  return c;
}
const frames = (texts: string[]) =>
  texts.map((t) => {
    const f = JSON.parse(t) as { data: string; pos: Positions };
    return [f.data, f.pos];
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

  it('sends a multi-room message once, and not at all when the client had it in another stream', () => {
    const both: Positions = { 'room:a': [5, 'E'], 'room:b': [9, 'E'] };
    const a = hist('room:a', [entry('m', both, 1)]);
    const b = hist('room:b', [entry('m', both, 1)]);
    expect(missedMessages([a, b], new Map(), client(['a', 'b']))).toHaveLength(1);
    const hadInA = new Map([['room:a', { epoch: 'E', offset: 5 }]]);
    expect(missedMessages([a, b], hadInA, client(['a', 'b']))).toEqual([]);
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

  it('skips what excluded the client', () => {
    const all = hist('all', [
      entry('x', { all: [1, 'E'] }, 1, { except: ['i.c'] }),
      entry('y', { all: [2, 'E'] }, 2),
    ]);
    expect(frames(missedMessages([all], new Map(), client())).map(([d]) => d)).toEqual(['y']);
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
    const out = frames(missedMessages([lobby, attic], new Map(), client(['lobby', 'attic'])));
    expect(out).toEqual([
      ['solo3', { 'room:attic': [5, 'A'] }],
      ['x4', { 'room:lobby': [5, 'L'], 'room:attic': [6, 'A'] }],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type {
  HistoryEntry,
  StreamHistory,
} from '../../../src/ws-hub/interfaces/recovery.interface.js';
import { missedMessages } from '../../../src/ws-hub/recovery/replay.js';

const entry = (
  text: string,
  positions: HistoryEntry['positions'],
  at: number,
  extra = {},
): HistoryEntry => ({
  text,
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

describe('missedMessages', () => {
  it('merges streams by append time, keeping each stream in order', () => {
    const all = hist('all', [entry('a1', { all: [1, 'E'] }, 1), entry('a2', { all: [2, 'E'] }, 4)]);
    const room = hist('room:r', [
      entry('r1', { 'room:r': [1, 'E'] }, 2),
      entry('r2', { 'room:r': [2, 'E'] }, 3),
    ]);
    expect(missedMessages([all, room], new Map(), 'c')).toEqual(['a1', 'r1', 'r2', 'a2']);
  });

  it('sends a multi-room message once, and not at all when the client had it in another stream', () => {
    const both = { 'room:a': [5, 'E'], 'room:b': [9, 'E'] } as HistoryEntry['positions'];
    const a = hist('room:a', [entry('m', both, 1)]);
    const b = hist('room:b', [entry('m', both, 1)]);
    expect(missedMessages([a, b], new Map(), 'c')).toEqual(['m']);
    const hadInA = new Map([['room:a', { epoch: 'E', offset: 5 }]]);
    expect(missedMessages([a, b], hadInA, 'c')).toEqual([]);
  });

  it('dedupes copies appended separately by their message id', () => {
    const a = hist('room:a', [entry('m', { 'room:a': [1, 'E'] }, 1, { id: 'o:1' })]);
    const b = hist('room:b', [entry('m', { 'room:b': [1, 'E'] }, 1, { id: 'o:1' })]);
    expect(missedMessages([a, b], new Map(), 'c')).toEqual(['m']);
  });

  it('skips what excluded the client', () => {
    const all = hist('all', [
      entry('x', { all: [1, 'E'] }, 1, { except: ['c'] }),
      entry('y', { all: [2, 'E'] }, 2),
    ]);
    expect(missedMessages([all], new Map(), 'c')).toEqual(['y']);
  });
});

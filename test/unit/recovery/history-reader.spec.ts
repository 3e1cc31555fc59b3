import { describe, expect, it } from 'vitest';
import type {
  HistoryEntry,
  RecoveryStore,
  StreamHistory,
  StreamTop,
} from '../../../src/ws-hub/interfaces/recovery.interface.js';
import {
  positionedFrame,
  type Positions,
  type StreamPosition,
} from '../../../src/ws-hub/protocol/streams.js';
import { HistoryReader } from '../../../src/ws-hub/recovery/history-reader.js';

/**
 * A store whose tops are read stream by stream: `moved` is what it holds by the time the later
 * reads run (messages appended between the read of one top and the next).
 */
function store(initialTops: Record<string, number>, entries: Record<string, HistoryEntry[]>) {
  const reads: string[] = [];
  const s = {
    async tops(names: readonly string[]): Promise<StreamTop[]> {
      return names.map((stream) => ({ stream, epoch: 'E', top: initialTops[stream] ?? 0 }));
    },
    async read(
      stream: string,
      since: StreamPosition | undefined,
      until: number,
    ): Promise<StreamHistory> {
      reads.push(`${stream} ${since?.offset}..${until}`);
      const list = (entries[stream] ?? []).filter((e) => {
        const o = e.positions[stream][0];
        return o > (since?.offset ?? 0) && o <= until;
      });
      return { stream, epoch: 'E', top: until, entries: list, complete: true };
    },
  };
  return { store: s as unknown as RecoveryStore, reads };
}
const entry = (data: string, positions: Positions, at: number): HistoryEntry => ({
  text: positionedFrame(`{"event":"e","data":"${data}"}`, positions),
  positions,
  at,
});
const budget = { maxReplayMessages: 1000, maxReplayBytes: 1_000_000 };
const at = (e: HistoryEntry[]) => e.map((x) => JSON.parse(x.text).data);

describe('HistoryReader', () => {
  it('raises a top that a replayed entry of another stream is past, and reads that far', async () => {
    // room:a's top was read at 2; then m3 (a@3) and m4 (a@4, b@6) were appended; room:b's top
    // was read after, at 6.
    const m4 = entry('m4', { 'room:a': [4, 'E'], 'room:b': [6, 'E'] }, 4);
    const { store: s, reads } = store(
      { 'room:a': 2, 'room:b': 6 },
      {
        'room:a': [entry('m3', { 'room:a': [3, 'E'] }, 3), m4],
        'room:b': [entry('m5', { 'room:b': [5, 'E'] }, 2), m4],
      },
    );
    const asked = new Map([
      ['room:a', { offset: 2, epoch: 'E' }],
      ['room:b', { offset: 4, epoch: 'E' }],
    ]);
    const r = await new HistoryReader(s, budget).read(['room:a', 'room:b'], asked);
    expect(r.tops).toEqual([
      { stream: 'room:a', epoch: 'E', top: 4 },
      { stream: 'room:b', epoch: 'E', top: 6 },
    ]);
    expect([...r.complete].sort()).toEqual(['room:a', 'room:b']);
    expect(reads).toEqual(['room:b 4..6', 'room:a 2..4']);
    expect(at(r.reads.find((h) => h.stream === 'room:a')!.entries)).toEqual(['m3', 'm4']);
  });

  it('a stream not recovered is only told its raised top', async () => {
    const m4 = entry('m4', { 'room:a': [4, 'E'], 'room:b': [6, 'E'] }, 4);
    const { store: s, reads } = store(
      { 'room:a': 2, 'room:b': 6 },
      { 'room:b': [entry('m5', { 'room:b': [5, 'E'] }, 2), m4] },
    );
    // room:a is a fresh join (not asked): nothing of it is read.
    const asked = new Map([['room:b', { offset: 4, epoch: 'E' }]]);
    const r = await new HistoryReader(s, budget).read(['room:a', 'room:b'], asked);
    expect(r.tops[0]).toEqual({ stream: 'room:a', epoch: 'E', top: 4 });
    expect([...r.complete]).toEqual(['room:b']);
    expect(reads).toEqual(['room:b 4..6']);
  });

  it('leaves consistent reads alone', async () => {
    const { store: s, reads } = store(
      { 'room:a': 3 },
      { 'room:a': [entry('m3', { 'room:a': [3, 'E'] }, 3)] },
    );
    const r = await new HistoryReader(s, budget).read(
      ['room:a'],
      new Map([['room:a', { offset: 2, epoch: 'E' }]]),
    );
    expect(r.tops).toEqual([{ stream: 'room:a', epoch: 'E', top: 3 }]);
    expect(reads).toEqual(['room:a 2..3']);
  });
});

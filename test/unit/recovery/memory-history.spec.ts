import { describe, expect, it } from 'vitest';
import { MemoryHistory, STREAM_META_TTL_MS } from '../../../src/ws-hub/recovery/memory-history.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const frame = (n: number) => `{"event":"e","data":${n}}`;

describe('MemoryHistory', () => {
  it('gives each stream its own offsets and epoch, and builds the positioned frame once', () => {
    const h = new MemoryHistory(10, 60_000);
    const a = h.append(['all'], frame(1));
    const b = h.append(['room:x', 'room:y'], frame(2));
    const c = h.append(['room:x'], frame(3));
    expect(a.positions.all[0]).toBe(1);
    expect(b.positions['room:x'][0]).toBe(1);
    expect(b.positions['room:y'][0]).toBe(1);
    expect(c.positions['room:x']).toEqual([2, b.positions['room:x'][1]]);
    expect(b.positions['room:x'][1]).not.toBe(b.positions['room:y'][1]); // epochs per stream
    expect(JSON.parse(b.text)).toEqual({ event: 'e', data: 2, pos: b.positions });
  });

  it('reads what came after a position, complete when nothing is missing', () => {
    const h = new MemoryHistory(10, 60_000);
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = h.append(['all'], frame(i)).positions.all[1];
    const r = h.read('all', { epoch, offset: 2 });
    expect(r).toMatchObject({ epoch, top: 5, complete: true });
    expect(r.entries.map((e) => JSON.parse(e.text).data)).toEqual([3, 4, 5]);
    expect(h.read('all', { epoch, offset: 5 })).toMatchObject({ entries: [], complete: true });
    expect(h.read('all', undefined)).toMatchObject({ top: 5, entries: [], complete: true });
  });

  it('is incomplete when trimmed past the position, for another epoch, or ahead of the top', () => {
    const h = new MemoryHistory(3, 60_000);
    let epoch = '';
    for (let i = 1; i <= 6; i++) epoch = h.append(['all'], frame(i)).positions.all[1];
    const trimmed = h.read('all', { epoch, offset: 1 });
    expect(trimmed.complete).toBe(false);
    expect(h.read('all', { epoch, offset: 3 })).toMatchObject({ complete: true });
    expect(h.read('all', { epoch: 'other', offset: 3 }).complete).toBe(false);
    expect(h.read('all', { epoch, offset: 9 }).complete).toBe(false);
  });

  it('treats offset 0 as "nothing yet" in any epoch', () => {
    const h = new MemoryHistory(10, 60_000);
    expect(h.read('room:new', { epoch: '', offset: 0 })).toMatchObject({
      epoch: '',
      top: 0,
      complete: true,
    });
    h.append(['room:new'], frame(1));
    const r = h.read('room:new', { epoch: '', offset: 0 });
    expect(r.complete).toBe(true);
    expect(r.entries).toHaveLength(1);
  });

  it('ignores entries older than the TTL, keeps an idle stream epoch for a day, then a new epoch', () => {
    const c = clock();
    const h = new MemoryHistory(10, 1_000, c.now);
    const first = h.append(['all'], frame(1)).positions.all;
    c.advance(600);
    h.append(['all'], frame(2));
    c.advance(600);
    expect(h.read('all', { epoch: first[1], offset: 0 }).complete).toBe(false); // #1 expired
    expect(h.read('all', { epoch: first[1], offset: 1 }).complete).toBe(true);
    c.advance(2_000);
    h.sweep();
    // entries gone, epoch and top kept: a client that had everything still recovers
    expect(h.streamCount).toBe(1);
    expect(h.read('all', { epoch: first[1], offset: 2 })).toMatchObject({ complete: true, top: 2 });
    expect(h.read('all', { epoch: first[1], offset: 1 }).complete).toBe(false);
    c.advance(STREAM_META_TTL_MS);
    h.sweep();
    expect(h.streamCount).toBe(0);
    const again = h.append(['all'], frame(3)).positions.all;
    expect(again[0]).toBe(1);
    expect(again[1]).not.toBe(first[1]);
    expect(h.read('all', { epoch: first[1], offset: 2 }).complete).toBe(false);
  });

  it('keeps the broadcast except list with the entry', () => {
    const h = new MemoryHistory(10, 60_000);
    h.append(['all'], frame(1), ['i.a']);
    expect(h.read('all', { epoch: '', offset: 0 }).entries[0].except).toEqual(['i.a']);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryHistory } from '../../../src/ws-hub/recovery/memory-history.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const frame = (n: number) => `{"event":"e","data":${n}}`;

/** A history whose streams are all retained (as if sessions were in them). */
function history(size = 10, ttlMs = 60_000, now = clock().now, streams = ['all']) {
  const h = new MemoryHistory(size, ttlMs, now);
  for (const s of streams) h.retain(s);
  return h;
}

describe('MemoryHistory', () => {
  it('gives each stream its own offsets and epoch, and builds the positioned frame once', () => {
    const h = history(10, 60_000, clock().now, ['all', 'room:x', 'room:y']);
    const a = h.append(['all'], frame(1))!;
    const b = h.append(['room:x', 'room:y'], frame(2))!;
    const c = h.append(['room:x'], frame(3))!;
    expect(a.positions.all[0]).toBe(1);
    expect(b.positions['room:x'][0]).toBe(1);
    expect(b.positions['room:y'][0]).toBe(1);
    expect(c.positions['room:x']).toEqual([2, b.positions['room:x'][1]]);
    expect(b.positions['room:x'][1]).not.toBe(b.positions['room:y'][1]); // epochs per stream
    expect(JSON.parse(b.text)).toEqual({ event: 'e', data: 2, pos: b.positions });
  });

  it('appends only to streams a session is in: nothing at all for the others', () => {
    const h = history(10, 60_000, clock().now, ['room:x']);
    expect(h.append(['all'], frame(1))).toBeUndefined();
    expect(h.append(['room:y'], frame(2))).toBeUndefined();
    const both = h.append(['room:x', 'room:y'], frame(3))!;
    expect(Object.keys(both.positions)).toEqual(['room:x']);
    expect(h.streamCount).toBe(1);
  });

  it('keeps a stream (and its epoch) while retained, drops it with the last session', () => {
    const h = history(10, 60_000, clock().now, []);
    h.retain('room:x');
    h.retain('room:x');
    const epoch = h.top('room:x').epoch;
    expect(epoch).toMatch(/^[\w-]{8}$/); // an epoch from the first session on
    h.append(['room:x'], frame(1));
    h.release('room:x');
    expect(h.top('room:x')).toEqual({ stream: 'room:x', epoch, top: 1 });
    h.release('room:x');
    expect(h.top('room:x')).toEqual({ stream: 'room:x', epoch: '', top: 0 });
    h.retain('room:x');
    expect(h.top('room:x').epoch).not.toBe(epoch); // made again: a new epoch
  });

  it('reads what came after a position, complete when nothing is missing', () => {
    const h = history();
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = h.append(['all'], frame(i))!.positions.all[1];
    const r = h.read('all', { epoch, offset: 2 }, 100);
    expect(r).toMatchObject({ epoch, top: 5, complete: true });
    expect(r.entries.map((e) => JSON.parse(e.text).data)).toEqual([3, 4, 5]);
    expect(h.read('all', { epoch, offset: 5 }, 100)).toMatchObject({ entries: [], complete: true });
    expect(h.read('all', undefined, 100)).toMatchObject({ top: 5, entries: [], complete: true });
  });

  it('is incomplete when trimmed past the position, for another epoch, ahead of the top, or past the limit', () => {
    const h = history(3);
    let epoch = '';
    for (let i = 1; i <= 6; i++) epoch = h.append(['all'], frame(i))!.positions.all[1];
    expect(h.read('all', { epoch, offset: 1 }, 100).complete).toBe(false);
    expect(h.read('all', { epoch, offset: 3 }, 100)).toMatchObject({ complete: true });
    expect(h.read('all', { epoch: 'other', offset: 3 }, 100).complete).toBe(false);
    expect(h.read('all', { epoch, offset: 9 }, 100).complete).toBe(false);
    expect(h.read('all', { epoch, offset: 3 }, 2)).toMatchObject({ complete: false, entries: [] });
  });

  it('treats offset 0 as "nothing yet" in any epoch', () => {
    const h = history(10, 60_000, clock().now, ['room:new']);
    expect(h.read('room:new', { epoch: 'x', offset: 0 }, 100)).toMatchObject({
      top: 0,
      entries: [],
      complete: true,
    });
    h.append(['room:new'], frame(1));
    expect(h.read('room:new', { epoch: 'whatever', offset: 0 }, 100)).toMatchObject({
      complete: true,
      entries: [expect.objectContaining({ text: expect.stringContaining('"data":1') })],
    });
  });

  it('ignores entries older than the TTL, frees them on sweep, keeps the stream', () => {
    const c = clock();
    const h = history(10, 1_000, c.now);
    const epoch = h.append(['all'], frame(1))!.positions.all[1];
    c.advance(600);
    h.append(['all'], frame(2));
    c.advance(600); // the first is 1200 ms old, the second 600 ms
    expect(h.read('all', { epoch, offset: 0 }, 100)).toMatchObject({ complete: false });
    expect(h.read('all', { epoch, offset: 1 }, 100)).toMatchObject({ complete: true });
    c.advance(10 * 24 * 3_600_000); // a quiet day (or ten): the stream lives while retained
    h.sweep();
    expect(h.top('all')).toEqual({ stream: 'all', epoch, top: 2 });
    expect(h.read('all', { epoch, offset: 2 }, 100)).toMatchObject({ complete: true });
    expect(h.read('all', { epoch, offset: 1 }, 100)).toMatchObject({ complete: false });
  });

  it('keeps append times strictly increasing, even when the clock stands still', () => {
    const h = history(10, 60_000, () => 5);
    h.append(['all'], frame(1));
    h.append(['all'], frame(2));
    const [a, b] = h.read('all', { epoch: h.top('all').epoch, offset: 0 }, 100).entries;
    expect(b.at).toBeGreaterThan(a.at);
  });
});

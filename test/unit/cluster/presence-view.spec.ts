import { describe, expect, it } from 'vitest';
import {
  goneInstances,
  layoutConflicts,
  totalOnline,
  withLocalCount,
} from '../../../src/ws-hub/cluster/presence-view.js';

describe('presence arithmetic', () => {
  it('finds the live instances whose layout differs from this one', () => {
    const view = [
      { id: 'self', online: 0, lastSeenAt: 0, layout: 'L1' },
      { id: 'a', online: 0, lastSeenAt: 0, layout: 'L1' },
      { id: 'b', online: 0, lastSeenAt: 0, layout: 'L2' },
      { id: 'c', online: 0, lastSeenAt: 0, layout: '' },
    ];
    expect(layoutConflicts(view, 'self', 'L1').map((i) => i.id)).toEqual(['b', 'c']);
  });

  it('counts as gone the known instances missing from the live view, never this one', () => {
    const known = ['self', 'a', 'b', 'c'];
    expect(goneInstances(known, new Set(['a', 'c']), 'self')).toEqual(['b']);
    expect(goneInstances(known, new Set(), 'self')).toEqual(['a', 'b', 'c']);
    expect(goneInstances([], new Set(['a']), 'self')).toEqual([]);
  });

  it('answers with this instance alone, seen now, when Redis gave no view', () => {
    expect(withLocalCount(undefined, 'self', 4, 123)).toEqual([
      { id: 'self', online: 4, lastSeenAt: 123 },
    ]);
  });

  it("uses this instance's live count and Redis's lastSeenAt for it, sorted by id", () => {
    const view = [
      { id: 'c', online: 2, lastSeenAt: 10 },
      { id: 'self', online: 99, lastSeenAt: 20 },
      { id: 'a', online: 1, lastSeenAt: 30 },
    ];
    expect(withLocalCount(view, 'self', 5, 1_000)).toEqual([
      { id: 'a', online: 1, lastSeenAt: 30 },
      { id: 'c', online: 2, lastSeenAt: 10 },
      { id: 'self', online: 5, lastSeenAt: 20 },
    ]);
  });

  it('adds this instance, seen now, when Redis does not list it yet', () => {
    expect(withLocalCount([{ id: 'z', online: 1, lastSeenAt: 1 }], 'self', 0, 77)).toEqual([
      { id: 'self', online: 0, lastSeenAt: 77 },
      { id: 'z', online: 1, lastSeenAt: 1 },
    ]);
  });

  it('sums the online counts', () => {
    expect(totalOnline([])).toBe(0);
    expect(
      totalOnline([
        { id: 'a', online: 2, lastSeenAt: 0 },
        { id: 'b', online: 3, lastSeenAt: 0 },
      ]),
    ).toBe(5);
  });
});

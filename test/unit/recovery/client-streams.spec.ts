import { describe, expect, it } from 'vitest';
import { continuing } from '../../../src/ws-hub/recovery/client-streams.js';

describe('continuing (held messages after a welcome)', () => {
  /** Positions as `[offset, epoch]`, kept as the map `continuing` advances. */
  const at = (entries: Record<string, [number, string]>) =>
    new Map(Object.entries(entries).map(([s, [offset, epoch]]) => [s, { offset, epoch }]));

  it('takes the next offset, in the same epoch, and advances', () => {
    const pos = at({ all: [4, 'E'], 'room:r': [9, 'F'] });
    expect(continuing({ all: [5, 'E'] }, pos)).toBe('next');
    expect(pos.get('all')).toEqual({ offset: 5, epoch: 'E' });
    expect(continuing({ all: [6, 'E'], 'room:r': [10, 'F'] }, pos)).toBe('next');
    expect(pos.get('room:r')).toEqual({ offset: 10, epoch: 'F' });
  });

  it('drops what the welcome or the replay covered (same epoch, at or below)', () => {
    const pos = at({ all: [4, 'E'], 'room:r': [9, 'F'] });
    expect(continuing({ all: [3, 'E'] }, pos)).toBe('old');
    expect(continuing({ all: [4, 'E'], 'room:r': [9, 'F'] }, pos)).toBe('old');
    // Old in one stream, next in another: the message is new to the client.
    expect(continuing({ all: [2, 'E'], 'room:r': [10, 'F'] }, pos)).toBe('next');
  });

  it('a gap or another epoch breaks continuity (nothing advances)', () => {
    const pos = at({ all: [4, 'E'], 'room:r': [9, 'F'] });
    expect(continuing({ all: [6, 'E'] }, pos)).toBe('break');
    expect(continuing({ all: [5, 'X'] }, pos)).toBe('break');
    expect(continuing({ all: [5, 'E'], 'room:r': [11, 'F'] }, pos)).toBe('break');
    expect(pos.get('all')).toEqual({ offset: 4, epoch: 'E' });
  });

  it('offset 0 is nothing yet: offset 1 of any epoch continues it', () => {
    const pos = at({ 'user:u': [0, ''] });
    expect(continuing({ 'user:u': [1, 'N'] }, pos)).toBe('next');
    expect(continuing({ 'user:u': [2, 'N'] }, pos)).toBe('next');
  });

  it('ignores streams the client is not in', () => {
    expect(continuing({ 'room:other': [50, 'Z'] }, at({ all: [1, 'E'] }))).toBe('old');
  });
});

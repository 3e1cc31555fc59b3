import { describe, expect, it } from 'vitest';
import type { Position } from '../../../src/ws-hub/protocol/streams.js';
import { continuing } from '../../../src/ws-hub/recovery/client-streams.js';

describe('continuing (held messages after a welcome)', () => {
  const at = (entries: Record<string, Position>) => new Map(Object.entries(entries));

  it('takes the next offset, in the same epoch, and advances', () => {
    const pos = at({ all: [4, 'E'], 'room:r': [9, 'F'] });
    expect(continuing({ all: [5, 'E'] }, pos)).toBe('next');
    expect(pos.get('all')).toEqual([5, 'E']);
    expect(continuing({ all: [6, 'E'], 'room:r': [10, 'F'] }, pos)).toBe('next');
    expect(pos.get('room:r')).toEqual([10, 'F']);
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
    expect(pos.get('all')).toEqual([4, 'E']);
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

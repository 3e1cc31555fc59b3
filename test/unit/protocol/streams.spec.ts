import { describe, expect, it } from 'vitest';
import {
  continuity,
  entryKey,
  positionedFrame,
  positionsOf,
  readFromTop,
  skipFrame,
} from '../../../src/ws-hub/protocol/streams.js';

describe('protocol streams', () => {
  it('continuity: only offset + 1 in the same epoch follows; offset 1 of any epoch after 0', () => {
    const at = (offset: number, epoch = 'E') => ({ offset, epoch });
    expect(continuity(at(4), [5, 'E'])).toBe('next');
    expect(continuity(at(4), [4, 'E'])).toBe('duplicate');
    expect(continuity(at(4), [2, 'E'])).toBe('duplicate');
    expect(continuity(at(4), [6, 'E'])).toBe('gap');
    expect(continuity(at(4), [5, 'F'])).toBe('epoch');
    expect(continuity(at(4), [1, 'F'])).toBe('epoch');
    expect(continuity(at(0, ''), [1, 'F'])).toBe('next');
    expect(continuity(at(0, 'E'), [2, 'E'])).toBe('gap');
    expect(continuity(at(0, 'E'), [0, 'E'])).toBe('duplicate');
  });

  it('positioned and skip frames carry the positions last, readable back without the data', () => {
    const plain = '{"event":"e","data":{"pos":{"x":[9,"Z"]}}}';
    const pos = { 'room:a': [3, 'E'] as [number, string] };
    const text = positionedFrame(plain, pos);
    expect(JSON.parse(text)).toEqual({ event: 'e', data: { pos: { x: [9, 'Z'] } }, pos });
    expect(positionsOf(text)).toEqual(pos);
    expect(JSON.parse(skipFrame(pos))).toEqual({ event: 'skip', pos });
    expect(positionsOf(plain.slice(0, -1) + ',"pos":[1]}')).toBeUndefined();
    expect(positionsOf('{"event":"e"}')).toBeUndefined();
  });

  it('entryKey names a message by its first position; readFromTop judges a read by the top alone', () => {
    expect(entryKey({ all: [7, 'E'], 'room:a': [2, 'F'] })).toBe('all@7');
    expect(readFromTop('E', 5, undefined)).toBe(true);
    expect(readFromTop('E', 5, { epoch: 'E', offset: 5 })).toBe(true);
    expect(readFromTop('E', 5, { epoch: 'F', offset: 3 })).toBe(false);
    expect(readFromTop('E', 5, { epoch: 'E', offset: 9 })).toBe(false);
    expect(readFromTop('E', 5, { epoch: 'E', offset: 3 })).toBeUndefined();
    expect(readFromTop('E', 5, { epoch: 'anything', offset: 0 })).toBeUndefined();
  });
});

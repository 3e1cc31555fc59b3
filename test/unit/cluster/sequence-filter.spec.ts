import { describe, expect, it } from 'vitest';
import { SequenceFilter } from '../../../src/ws-hub/cluster/sequence-filter.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('SequenceFilter', () => {
  it('accepts increasing numbers and drops copies and older ones, per origin', () => {
    const f = new SequenceFilter();
    expect(f.accept('a', 1)).toBe(true);
    expect(f.accept('a', 1)).toBe(false); // the second room's copy of a multi-room broadcast
    expect(f.accept('a', 2)).toBe(true);
    expect(f.accept('b', 1)).toBe(true); // origins are independent
    expect(f.accept('a', 7)).toBe(true); // gaps are fine (messages for rooms not subscribed)
    expect(f.accept('a', 5)).toBe(false); // nothing behind the highest seen: order is kept
    expect(f.accept('a', 7)).toBe(false);
    expect(f.accept('a', 8)).toBe(true);
    expect(f.accept('b', 2)).toBe(true);
  });

  it('accepts any first number from an origin it does not know', () => {
    const f = new SequenceFilter();
    expect(f.accept('late-joiner', 12_345)).toBe(true);
    expect(f.accept('late-joiner', 12_345)).toBe(false);
  });

  it('forgets origins that are not live and have been silent for the given time', () => {
    const clock = manualClock();
    const f = new SequenceFilter(clock.now);
    f.accept('gone', 10);
    f.accept('quiet-but-live', 10);
    clock.advance(5_000);
    f.accept('recent', 10);
    clock.advance(1_001);
    f.forgetSilent(new Set(['quiet-but-live']), 6_000);
    // 'gone' sent its last message 6001 ms ago and is not live: forgotten, so it starts afresh.
    expect(f.size).toBe(2);
    expect(f.accept('gone', 1)).toBe(true);
    // A live origin is kept however quiet; a recently heard one too (a message in flight).
    expect(f.accept('quiet-but-live', 10)).toBe(false);
    expect(f.accept('recent', 10)).toBe(false);
  });

  it('keeps an origin silent for exactly the limit (only older ones go)', () => {
    const clock = manualClock();
    const f = new SequenceFilter(clock.now);
    f.accept('x', 3);
    clock.advance(6_000);
    f.forgetSilent(new Set(), 6_000);
    expect(f.accept('x', 3)).toBe(false);
  });

  it('updates the silence timer on every accepted message', () => {
    const clock = manualClock();
    const f = new SequenceFilter(clock.now);
    f.accept('x', 1);
    clock.advance(5_000);
    f.accept('x', 2);
    clock.advance(5_000);
    f.forgetSilent(new Set(), 6_000); // 10 s since the first, 5 s since the last message
    expect(f.accept('x', 2)).toBe(false);
  });

  it('holds one entry per origin, bounded by the live origins once the dead are forgotten', () => {
    const clock = manualClock();
    const f = new SequenceFilter(clock.now);
    for (let seq = 1; seq <= 1_000; seq++) f.accept('busy', seq);
    expect(f.size).toBe(1);
    for (let i = 0; i < 500; i++) f.accept(`restarted-${i}`, 1);
    expect(f.size).toBe(501);
    clock.advance(10_000);
    f.forgetSilent(new Set(['busy', 'restarted-7']), 6_000);
    expect(f.size).toBe(2);
    f.clear();
    expect(f.size).toBe(0);
  });
});

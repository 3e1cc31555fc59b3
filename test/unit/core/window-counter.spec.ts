import { afterEach, describe, expect, it, vi } from 'vitest';
import { WindowCounter } from '../../../src/ws-hub/core/window-counter.js';

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  let now = start;
  return {
    read: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

describe('WindowCounter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts hits from 1 within one window', () => {
    const clock = manualClock(5_000);
    const counter = new WindowCounter(1_000, clock.read);
    expect([counter.hit(), counter.hit(), counter.hit()]).toEqual([1, 2, 3]);
    clock.advance(999);
    expect(counter.hit()).toBe(4);
  });

  it('starts a new window, counting from 1, once windowMs have passed since it began', () => {
    const clock = manualClock();
    const counter = new WindowCounter(1_000, clock.read);
    counter.hit(); // window begins at 0
    clock.advance(600);
    expect(counter.hit()).toBe(2);
    clock.advance(400); // 1000 ms after the window began, though 400 ms after the last hit
    expect(counter.hit()).toBe(1);
    clock.advance(999);
    expect(counter.hit()).toBe(2);
    clock.advance(1);
    expect(counter.hit()).toBe(1);
  });

  it('is a fixed window: the new one begins at the first hit after the old one ended', () => {
    const clock = manualClock();
    const counter = new WindowCounter(1_000, clock.read);
    counter.hit();
    clock.advance(5_000); // a long pause: the next window begins now, not at a multiple of 1000
    expect(counter.hit()).toBe(1);
    clock.advance(999);
    expect(counter.hit()).toBe(2);
  });

  it('counts the first hit as 1 whatever the clock reads, even 0 or negative', () => {
    for (const start of [0, -50_000, 1e12]) {
      expect(new WindowCounter(10_000, manualClock(start).read).hit()).toBe(1);
    }
  });

  it('keeps separate counts per instance', () => {
    const clock = manualClock();
    const a = new WindowCounter(1_000, clock.read);
    const b = new WindowCounter(1_000, clock.read);
    a.hit();
    a.hit();
    expect(b.hit()).toBe(1);
    expect(a.hit()).toBe(3);
  });

  it('reads the monotonic clock by default, not the wall clock', () => {
    let now = 0;
    const monotonic = vi.spyOn(performance, 'now').mockImplementation(() => now);
    const wall = vi.spyOn(Date, 'now');
    const counter = new WindowCounter(1_000);
    expect(counter.hit()).toBe(1);
    now = 500;
    expect(counter.hit()).toBe(2);
    now = 1_000;
    expect(counter.hit()).toBe(1);
    expect(monotonic).toHaveBeenCalledTimes(3);
    expect(wall).not.toHaveBeenCalled();
  });
});

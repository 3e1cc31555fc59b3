import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  PendingPublishes,
  type PendingPublish,
} from '../../../src/ws-hub/cluster/pending-publishes.js';

afterEach(() => {
  vi.useRealTimers();
});

const publish = (message: string, sentAtMs = Date.now()): PendingPublish<string> => ({
  message,
  streams: ['all'],
  sentAtMs,
  generation: 0,
  received: false,
});

describe('PendingPublishes', () => {
  it('takes an answered publish once', () => {
    const pending = new PendingPublishes<string>(1_000, () => undefined);
    pending.add(1, publish('a'));
    expect(pending.get(1)?.message).toBe('a');
    expect(pending.take(1)?.message).toBe('a');
    expect(pending.take(1)).toBeUndefined();
  });

  it('gives up on the publishes older than the timeout, oldest first, in one report', () => {
    vi.useFakeTimers();
    const late: string[][] = [];
    const pending = new PendingPublishes<string>(100, (l) => late.push(l.map((p) => p.message)));
    pending.start();
    pending.add(1, publish('a'));
    pending.add(2, publish('b'));
    vi.advanceTimersByTime(50);
    pending.add(3, publish('c'));
    vi.advanceTimersByTime(75);
    expect(late).toEqual([['a', 'b']]);
    expect(pending.get(3)?.message).toBe('c');
    pending.stop();
    expect(pending.get(3)).toBeUndefined();
  });
});

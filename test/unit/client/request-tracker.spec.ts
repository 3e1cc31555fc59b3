import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubRequestError, HubTimeoutError } from '../../../src/ws-hub/client/errors.js';
import { createRequestTracker } from '../../../src/ws-hub/client/request-tracker.js';
import { capture, flush } from './fake-socket.js';

const timers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as number),
};

describe('request tracker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves the request a reply names, whatever the order', async () => {
    const tracker = createRequestTracker(timers);
    const a = capture(tracker.add(1, 1000, true, () => {}));
    const b = capture(tracker.add(2, 1000, true, () => {}));
    expect(tracker.settle({ event: 'ack', id: 2, data: 'B' })).toBe(true);
    expect(tracker.settle({ event: 'ack', id: 1, data: 'A' })).toBe(true);
    expect(tracker.settle({ event: 'ack', id: 1, data: 'again' })).toBe(false);
    expect(tracker.settle({ event: 'push' })).toBe(false);
    await flush();
    expect([a.value, b.value]).toEqual(['A', 'B']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects on an error reply with the server code', async () => {
    const tracker = createRequestTracker(timers);
    const r = capture(tracker.add(1, 1000, true, () => {}));
    tracker.settle({ event: 'error', id: 1, data: { code: 'FORBIDDEN', message: 'nope' } });
    await flush();
    expect(r.error).toBeInstanceOf(HubRequestError);
    expect(r.error).toMatchObject({ code: 'FORBIDDEN', message: 'nope' });
  });

  it('times out, calls onTimeout and forgets the request', async () => {
    const tracker = createRequestTracker(timers);
    const onTimeout = vi.fn();
    const r = capture(tracker.add(1, 1000, false, onTimeout));
    vi.advanceTimersByTime(999);
    await flush();
    expect(r.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(r.error).toBeInstanceOf(HubTimeoutError);
    expect(onTimeout).toHaveBeenCalledOnce();
    expect(tracker.size).toBe(0);
    expect(tracker.settle({ event: 'ack', id: 1 })).toBe(false);
  });

  it('rejectAll rejects sent requests only, or all', async () => {
    const tracker = createRequestTracker(timers);
    const sent = capture(tracker.add(1, 1000, true, () => {}));
    const queued = capture(tracker.add(2, 1000, false, () => {}));
    tracker.rejectAll(() => new Error('gone'), false);
    await flush();
    expect(sent.error?.message).toBe('gone');
    expect(queued.settled).toBe(false);
    tracker.markSent(2);
    tracker.rejectAll(() => new Error('gone'), false);
    await flush();
    expect(queued.error?.message).toBe('gone');
    const later = capture(tracker.add(3, 1000, false, () => {}));
    tracker.rejectAll(() => new Error('closed'), true);
    await flush();
    expect(later.error?.message).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });
});

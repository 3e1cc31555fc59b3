import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubRequestError, HubTimeoutError } from '../../../src/ws-hub/client/errors.js';
import { createRequestTracker } from '../../../src/ws-hub/client/request-tracker.js';
import { capture, flush } from './fake-socket.js';

const timers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as number),
};

/** Tracks request `id` as just written; returns its outcome. */
function track(tracker: ReturnType<typeof createRequestTracker>, id: number, timeoutMs = 1000) {
  return capture(new Promise((resolve, reject) => tracker.add({ id, timeoutMs, resolve, reject })));
}

describe('request tracker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves the request a reply names, whatever the order', async () => {
    const tracker = createRequestTracker(timers);
    const a = track(tracker, 1);
    const b = track(tracker, 2);
    expect(tracker.settle({ event: 'ack', id: 2, data: 'B' })).toBe(true);
    expect(tracker.settle({ event: 'ack', id: 1, data: 'A' })).toBe(true);
    expect(tracker.settle({ event: 'ack', id: 1, data: 'again' })).toBe(false);
    expect(tracker.settle({ event: 'push' })).toBe(false);
    await flush();
    expect([a.value, b.value]).toEqual(['A', 'B']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects on an error reply with the server code, message and details', async () => {
    const tracker = createRequestTracker(timers);
    const r = track(tracker, 1);
    const plain = track(tracker, 2);
    const details = ['text must be a string', 'room should not be empty'];
    tracker.settle({
      event: 'error',
      id: 1,
      data: { code: 'BAD_REQUEST', message: 'invalid input', details },
    });
    tracker.settle({ event: 'error', id: 2, data: { code: 'FORBIDDEN', message: 'nope' } });
    await flush();
    expect(r.error).toBeInstanceOf(HubRequestError);
    expect(r.error).toMatchObject({ code: 'BAD_REQUEST', message: 'invalid input', details });
    expect(plain.error).toMatchObject({ code: 'FORBIDDEN', message: 'nope', details: undefined });
  });

  it('times out timeoutMs after being written and forgets the request', async () => {
    const tracker = createRequestTracker(timers);
    const r = track(tracker, 1, 1000);
    vi.advanceTimersByTime(999);
    await flush();
    expect(r.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(r.error).toBeInstanceOf(HubTimeoutError);
    expect(r.error.message).toBe('no reply to request 1 within 1000 ms');
    expect(tracker.settle({ event: 'ack', id: 1 })).toBe(false);
  });

  it('rejectAll rejects every pending request and clears their timers', async () => {
    const tracker = createRequestTracker(timers);
    const a = track(tracker, 1);
    const b = track(tracker, 2);
    tracker.rejectAll(() => new Error('gone'));
    await flush();
    expect([a.error?.message, b.error?.message]).toEqual(['gone', 'gone']);
    expect(vi.getTimerCount()).toBe(0);
    expect(tracker.settle({ event: 'ack', id: 1 })).toBe(false);
  });
});

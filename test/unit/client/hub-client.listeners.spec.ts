import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, openClient } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('a listener that throws', () => {
  it('is reported to onListenerError with the event name; the others and later events still run', () => {
    const onListenerError = vi.fn();
    const h = openClient({ onListenerError });
    const boom = new Error('listener bug');
    const got: unknown[] = [];
    h.client.on('chat', () => {
      throw boom;
    });
    h.client.on('chat', (data) => got.push(data));
    h.client.onAny(() => {
      throw boom;
    });
    h.client.onState(() => {
      throw boom;
    });
    h.socket.push({ event: 'chat', data: 1 });
    h.socket.push({ event: 'chat', data: 2 });
    expect(got).toEqual([1, 2]);
    h.socket.drop(1006); // a throwing onState listener does not stop the reconnect
    expect(h.client.state).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    expect(h.client.state).toBe('open');
    expect(onListenerError.mock.calls).toEqual([
      [boom, 'chat'],
      [boom, 'onAny'],
      [boom, 'chat'],
      [boom, 'onAny'],
      [boom, 'onState'],
      [boom, 'onState'],
    ]);
  });

  it('by default goes to reportError where it exists (browsers), never rethrown', () => {
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const h = openClient();
    const boom = new Error('listener bug');
    h.client.on('chat', () => {
      throw boom;
    });
    expect(() => h.socket.push({ event: 'chat', data: 1 })).not.toThrow();
    expect(reportError).toHaveBeenCalledWith(boom);
    expect(error).not.toHaveBeenCalled();
  });

  it('by default goes to console.error in Node; nothing is thrown from a microtask', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const h = openClient();
    const boom = new Error('listener bug');
    h.client.onRejoinError(() => {
      throw boom;
    });
    h.client.on('chat', () => {
      throw boom;
    });
    expect(() => h.socket.push({ event: 'chat', data: 1 })).not.toThrow();
    await flush(); // the old client rethrew here, which ends a Node process
    expect(error).toHaveBeenCalledWith(boom);
  });

  it('an onListenerError that throws changes nothing either', () => {
    const h = openClient({
      onListenerError: () => {
        throw new Error('reporter bug');
      },
    });
    const got = vi.fn();
    h.client.on('chat', () => {
      throw new Error('listener bug');
    });
    h.client.on('chat', got);
    expect(() => h.socket.push({ event: 'chat', data: 1 })).not.toThrow();
    expect(got).toHaveBeenCalledWith(1);
  });
});

describe('once, off and onAny', () => {
  it('once: the next push only, whatever else is listening', () => {
    const h = openClient();
    const once = vi.fn();
    const always = vi.fn();
    h.client.once('chat', once);
    h.client.on('chat', always);
    h.socket.push({ event: 'chat', data: 1 });
    h.socket.push({ event: 'chat', data: 2 });
    expect(once.mock.calls).toEqual([[1]]);
    expect(always.mock.calls).toEqual([[1], [2]]);
  });

  it('once returns an unsubscribe function, and works for error frames', () => {
    const h = openClient();
    const cancelled = vi.fn();
    h.client.once('chat', cancelled)();
    const onError = vi.fn();
    h.client.once('error', onError);
    h.socket.push({ event: 'chat', data: 1 });
    h.socket.push({ event: 'error', data: { code: 'RATE_LIMITED', message: 'slow down' } });
    h.socket.push({ event: 'error', data: { code: 'RATE_LIMITED', message: 'again' } });
    expect(cancelled).not.toHaveBeenCalled();
    expect(onError.mock.calls).toEqual([[{ code: 'RATE_LIMITED', message: 'slow down' }]]);
  });

  it('off removes a listener added with on or once, and only from that event', () => {
    const h = openClient();
    const a = vi.fn();
    const b = vi.fn();
    h.client.on('chat', a);
    h.client.on('news', a);
    h.client.once('chat', b);
    h.client.off('chat', a);
    h.client.off('chat', b);
    h.client.off('nothing', a); // unknown: a no-op
    h.socket.push({ event: 'chat', data: 1 });
    h.socket.push({ event: 'news', data: 2 });
    expect(a.mock.calls).toEqual([[2]]);
    expect(b).not.toHaveBeenCalled();
  });

  it('onAny: every push and unanswered error frame with its event name, until unsubscribed', () => {
    const h = openClient();
    const any = vi.fn();
    const off = h.client.onAny(any);
    h.socket.push({ event: 'chat', data: { text: 'hi' } });
    h.socket.push({ event: 'error', data: { code: 'RATE_LIMITED', message: 'slow down' } });
    h.socket.push({ event: 'news', data: 1, pos: { all: [1, 'e'] } }); // positioned: replayed flag
    void h.client.request('message', 'x');
    h.socket.reply('message', 'ack', 'x'); // a reply is not a push
    off();
    h.socket.push({ event: 'chat', data: 'late' });
    expect(any.mock.calls).toEqual([
      ['chat', { text: 'hi' }],
      ['error', { code: 'RATE_LIMITED', message: 'slow down' }],
      ['news', 1, false],
    ]);
  });
});

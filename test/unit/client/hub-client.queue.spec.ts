import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubQueueFullError,
  HubTimeoutError,
} from '../../../src/ws-hub/client/index.js';
import { capture, flush, setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('offline queue', () => {
  it('queues send and request while connecting and flushes them in order on open', async () => {
    const h = setup();
    h.client.send('message', 1);
    const r = capture(h.client.request('message', 2));
    h.client.send('message', 3);
    expect(h.socket.sent).toEqual([]);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => f.data)).toEqual([1, 2, 3]);
    h.socket.push({ event: 'ack', id: h.socket.sent[1].id, data: 2 });
    await flush();
    expect(r.value).toBe(2);
  });

  it('keeps queued requests across a drop and flushes them after the rejoins', async () => {
    const h = setup();
    h.socket.welcome();
    const joined = capture(h.client.join('lobby'));
    h.socket.reply('join', 'joined', { room: 'lobby' });
    await flush();
    expect(joined.value).toEqual({ room: 'lobby' });
    h.socket.drop(1001, 'server shutting down');
    h.client.send('message', 'a');
    const r = capture(h.client.request('message', 'b'));
    vi.advanceTimersByTime(250);
    h.socket.drop(1006); // the first retry fails too: still queued
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(3);
    h.socket.welcome();
    expect(h.socket.sent).toEqual([
      { event: 'join', id: expect.any(Number), data: { room: 'lobby' } },
      { event: 'message', data: 'a' },
      { event: 'message', id: expect.any(Number), data: 'b' },
    ]);
    h.socket.reply('message', 'ack', 'b');
    await flush();
    expect(r.value).toBe('b');
  });

  it('is bounded: overflow throws / rejects HubQueueFullError and is reported', async () => {
    const h = setup({ queue: { maxMessages: 2 } });
    const onFull = vi.fn();
    h.client.onQueueFull(onFull);
    h.client.send('message', 1);
    const queued = capture(h.client.request('message', 2));
    expect(() => h.client.send('message', 3)).toThrow(HubQueueFullError);
    const overflow = capture(h.client.request('message', 4));
    await flush();
    expect(overflow.error).toBeInstanceOf(HubQueueFullError);
    expect(queued.settled).toBe(false);
    expect(onFull.mock.calls).toEqual([
      [{ event: 'message', data: 3 }],
      [{ event: 'message', data: 4 }],
    ]);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => f.data)).toEqual([1, 2]);
  });

  it('defaults to 100 queued messages', () => {
    const h = setup();
    for (let i = 0; i < 100; i++) h.client.send('message', i);
    expect(() => h.client.send('message', 100)).toThrow(HubQueueFullError);
  });

  it('keeps the timeout of a queued request running and drops it from the queue', async () => {
    const h = setup({ requestTimeoutMs: 1000, connectTimeoutMs: 60_000 });
    const r = capture(h.client.request('message', 'late'));
    h.client.send('message', 'kept');
    vi.advanceTimersByTime(1000);
    await flush();
    expect(r.error).toBeInstanceOf(HubTimeoutError);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => f.data)).toEqual(['kept']);
  });

  it('fails fast with queue: false', async () => {
    const h = setup({ queue: false });
    expect(() => h.client.send('message', 1)).toThrow(HubDisconnectedError);
    const r = capture(h.client.request('message', 2));
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    h.socket.welcome();
    expect(h.socket.sent).toEqual([]);
    h.client.send('message', 3);
    expect(h.socket.sent).toEqual([{ event: 'message', data: 3 }]);
  });

  it('on close(), queued requests reject and the discarded count is reported', async () => {
    const h = setup();
    h.client.send('message', 1);
    const r = capture(h.client.request('message', 2));
    h.client.close();
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'user', discarded: 2 });
    expect(vi.getTimerCount()).toBe(0);
  });
});

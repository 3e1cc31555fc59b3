import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubQueueExpiredError,
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

  it('is bounded: overflow rejects HubQueueFullError (send and request alike) and is reported', async () => {
    const h = setup({ queue: { maxMessages: 2 } });
    const onFull = vi.fn();
    h.client.onQueueFull(onFull);
    h.client.send('message', 1);
    const queued = capture(h.client.request('message', 2));
    const sent = capture(h.client.send('message', 3));
    const overflow = capture(h.client.request('message', 4));
    await flush();
    expect(sent.error).toBeInstanceOf(HubQueueFullError);
    expect(overflow.error).toBeInstanceOf(HubQueueFullError);
    expect(queued.settled).toBe(false);
    expect(onFull.mock.calls).toEqual([
      [{ event: 'message', data: 3 }],
      [{ event: 'message', data: 4 }],
    ]);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => f.data)).toEqual([1, 2]);
  });

  it('defaults to 100 queued messages', async () => {
    const h = setup();
    for (let i = 0; i < 100; i++) h.client.send('message', i);
    await expect(h.client.send('message', 100)).rejects.toThrow(HubQueueFullError);
  });

  it('send() resolves once written: at once when open, on the flush when queued', async () => {
    const h = setup();
    const queued = capture(h.client.send('message', 'queued'));
    await flush();
    expect(queued.settled).toBe(false);
    h.socket.welcome();
    const direct = capture(h.client.send('message', 'direct'));
    await flush();
    expect(queued).toEqual({ settled: true, value: undefined });
    expect(direct).toEqual({ settled: true, value: undefined });
  });

  it('a queued request or send waits queue.maxAgeMs at most: HubQueueExpiredError, never sent', async () => {
    const h = setup({
      queue: { maxAgeMs: 5000 },
      requestTimeoutMs: 1000,
      connectTimeoutMs: 60_000,
    });
    const request = capture(h.client.request('message', 'late'));
    const sent = capture(h.client.send('message', 'late too'));
    vi.advanceTimersByTime(2000);
    const kept = capture(h.client.request('message', 'kept'));
    vi.advanceTimersByTime(2999); // far past requestTimeoutMs: the reply timeout has not started
    await flush();
    expect(request.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(request.error).toBeInstanceOf(HubQueueExpiredError);
    expect(request.error.message).toBe(
      'message not sent: no connection within 5000 ms (queue.maxAgeMs)',
    );
    expect(sent.error).toBeInstanceOf(HubQueueExpiredError);
    expect(kept.settled).toBe(false);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => f.data)).toEqual(['kept']);
    // the reply timeout starts now, when the request is written
    vi.advanceTimersByTime(999);
    await flush();
    expect(kept.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(kept.error).toBeInstanceOf(HubTimeoutError);
  });

  it('queue.maxAgeMs defaults to 30 s', async () => {
    const h = setup({ connectTimeoutMs: 60_000 });
    const r = capture(h.client.request('message', 1));
    vi.advanceTimersByTime(29_999);
    await flush();
    expect(r.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(r.error).toBeInstanceOf(HubQueueExpiredError);
  });

  it('fails fast with queue: false', async () => {
    const h = setup({ queue: false });
    await expect(h.client.send('message', 1)).rejects.toThrow(HubDisconnectedError);
    const r = capture(h.client.request('message', 2));
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    h.socket.welcome();
    expect(h.socket.sent).toEqual([]);
    h.client.send('message', 3);
    expect(h.socket.sent).toEqual([{ event: 'message', data: 3 }]);
  });

  it('a send that fails and is ignored leaves no unhandled rejection', async () => {
    vi.useRealTimers();
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const h = setup({ queue: { maxMessages: 1, maxAgeMs: 10 } });
      h.client.send('message', 'expires');
      h.client.send('message', 'overflows');
      h.client.close();
      h.client.send('message', 'after close');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
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

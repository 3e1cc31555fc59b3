import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubQueueExpiredError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from '../../../src/ws-hub/client/errors.js';
import { createOutbox } from '../../../src/ws-hub/client/outbox.js';
import type { HubClientOptions, HubState } from '../../../src/ws-hub/client/types.js';
import { capture, FakeSocket, flush } from './fake-socket.js';

const timers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as number),
};

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** An outbox on a fake socket; `state` decides whether it writes or queues. */
function setupOutbox(queue?: HubClientOptions['queue'], maxPayloadBytes?: number) {
  const link = {
    state: 'connecting' as HubState,
    socket: new FakeSocket('ws://x'),
    full: [] as [string, unknown][],
  };
  const outbox = createOutbox(queue, timers, {
    state: () => link.state,
    socket: () => link.socket,
    maxPayloadBytes: () => maxPayloadBytes,
    queueFull: (event, data) => link.full.push([event, data]),
  });
  const open = () => {
    link.state = 'open';
    outbox.flush();
  };
  return { outbox, link, open };
}

describe('outbox', () => {
  it('queues while not open and writes in order on flush; a send settles once written', async () => {
    const { outbox, link, open } = setupOutbox();
    const sent = capture(outbox.put('message', 1));
    const request = capture(outbox.put('message', 2, 5000));
    outbox.put('message', 3);
    await flush();
    expect(link.socket.sent).toEqual([]);
    expect(sent.settled).toBe(false);
    open();
    expect(link.socket.sent).toEqual([
      { event: 'message', data: 1 },
      { event: 'message', id: expect.any(Number), data: 2 },
      { event: 'message', data: 3 },
    ]);
    await flush();
    expect(sent).toEqual({ settled: true, value: undefined });
    expect(request.settled).toBe(false);
    outbox.settle({ event: 'ack', id: link.socket.sent[1].id, data: 2 });
    await flush();
    expect(request.value).toBe(2);
  });

  it('writes at once when open', () => {
    const { outbox, link, open } = setupOutbox();
    open();
    capture(outbox.put('message', 'now'));
    expect(link.socket.sent).toEqual([{ event: 'message', data: 'now' }]);
  });

  it('is bounded: past maxMessages it throws HubQueueFullError and reports the frame', () => {
    const { outbox, link } = setupOutbox({ maxMessages: 2 });
    capture(outbox.put('message', 1));
    capture(outbox.put('join', { room: 'a' }, 1000, 'a'));
    expect(() => outbox.put('message', 3)).toThrow(HubQueueFullError);
    expect(() => outbox.put('message', 3)).toThrow('queue full (2 messages)');
    expect(link.full).toEqual([
      ['message', 3],
      ['message', 3],
    ]);
  });

  it('an item waits maxAgeMs at most, then fails with HubQueueExpiredError and frees its slot', async () => {
    const { outbox, link, open } = setupOutbox({ maxMessages: 2, maxAgeMs: 1000 });
    const early = capture(outbox.put('message', 'early', 60_000));
    vi.advanceTimersByTime(400);
    const late = capture(outbox.put('join', { room: 'a' }, 60_000, 'a'));
    vi.advanceTimersByTime(599);
    await flush();
    expect(early.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(early.error).toBeInstanceOf(HubQueueExpiredError);
    expect(early.error.message).toBe(
      'message not sent: no connection within 1000 ms (queue.maxAgeMs)',
    );
    expect(late.settled).toBe(false);
    expect(outbox.joining('a')).toBe(true);
    capture(outbox.put('message', 'fits again'));
    open();
    expect(link.socket.sent.map((f) => f.data)).toEqual([{ room: 'a' }, 'fits again']);
    expect(vi.getTimerCount()).toBe(1); // the join's reply timeout, no expiry left
  });

  it("a request's reply timeout starts when it is written, not while it waits", async () => {
    const { outbox, open } = setupOutbox({ maxAgeMs: 60_000 });
    const r = capture(outbox.put('message', 'x', 1000));
    vi.advanceTimersByTime(30_000); // queued far longer than its reply timeout
    await flush();
    expect(r.settled).toBe(false);
    open();
    vi.advanceTimersByTime(999);
    await flush();
    expect(r.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(r.error).toBeInstanceOf(HubTimeoutError);
  });

  it('maxAgeMs Infinity: nothing expires (no timer at all)', () => {
    const { outbox } = setupOutbox({ maxAgeMs: Infinity });
    capture(outbox.put('message', 1));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('defaults: 100 items, 30 s each', async () => {
    const { outbox } = setupOutbox();
    const first = capture(outbox.put('message', 0));
    for (let i = 1; i < 100; i++) capture(outbox.put('message', i));
    expect(() => outbox.put('message', 100)).toThrow(HubQueueFullError);
    vi.advanceTimersByTime(29_999);
    await flush();
    expect(first.settled).toBe(false);
    vi.advanceTimersByTime(1);
    await flush();
    expect(first.error).toBeInstanceOf(HubQueueExpiredError);
  });

  it('queue: false and a closed client throw HubDisconnectedError instead of queueing', () => {
    const off = setupOutbox(false);
    expect(() => off.outbox.put('message', 1)).toThrow(HubDisconnectedError);
    off.link.state = 'open';
    capture(off.outbox.put('message', 2));
    expect(off.link.socket.sent).toEqual([{ event: 'message', data: 2 }]);
    const closed = setupOutbox();
    closed.link.state = 'closed';
    expect(() => closed.outbox.put('message', 1)).toThrow('not connected (closed)');
  });

  it('refuses a frame larger than maxPayloadBytes (in UTF-8 bytes)', () => {
    const { outbox } = setupOutbox(undefined, 100);
    expect(() => outbox.put('message', 'é'.repeat(60))).toThrow(HubRequestError);
    expect(() => outbox.put('message', 'é'.repeat(60))).toThrow('frame larger than 100 bytes');
    capture(outbox.put('message', 'e'.repeat(60)));
  });

  it('drop rejects what it selects (everything by default) and clears the expiry timers', async () => {
    const { outbox } = setupOutbox();
    const a = capture(outbox.put('join', { room: 'a' }, 1000, 'a'));
    const b = capture(outbox.put('join', { room: 'b' }, 1000, 'b'));
    const m = capture(outbox.put('message', 1));
    const left = () => new HubDisconnectedError('left a');
    expect(outbox.drop(left, (item) => item.room === 'a')).toBe(1);
    expect(outbox.joining('a')).toBe(false);
    expect(outbox.joining('b')).toBe(true);
    expect(outbox.drop(() => new HubDisconnectedError('client closed (user)'))).toBe(2);
    await flush();
    expect([a.error?.message, b.error?.message, m.error?.message]).toEqual([
      'left a',
      'client closed (user)',
      'client closed (user)',
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('settles the request a reply names, whatever the order; a reply settles once', async () => {
    const { outbox, link, open } = setupOutbox();
    open();
    const a = capture(outbox.put('message', 'a', 1000));
    const b = capture(outbox.put('message', 'b', 1000));
    const [idA, idB] = link.socket.sent.map((f) => f.id);
    expect(outbox.settle({ event: 'ack', id: idB, data: 'B' })).toBe(true);
    expect(outbox.settle({ event: 'ack', id: idA, data: 'A' })).toBe(true);
    expect(outbox.settle({ event: 'ack', id: idA, data: 'again' })).toBe(false);
    expect(outbox.settle({ event: 'push' })).toBe(false);
    await flush();
    expect([a.value, b.value]).toEqual(['A', 'B']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects on an error reply with the server code, message and details', async () => {
    const { outbox, link, open } = setupOutbox();
    open();
    const r = capture(outbox.put('message', 1, 1000));
    const plain = capture(outbox.put('message', 2, 1000));
    const [id1, id2] = link.socket.sent.map((f) => f.id);
    const details = ['text must be a string', 'room should not be empty'];
    outbox.settle({
      event: 'error',
      id: id1,
      data: { code: 'BAD_REQUEST', message: 'invalid input', details },
    });
    outbox.settle({ event: 'error', id: id2, data: { code: 'FORBIDDEN', message: 'nope' } });
    await flush();
    expect(r.error).toBeInstanceOf(HubRequestError);
    expect(r.error).toMatchObject({ code: 'BAD_REQUEST', message: 'invalid input', details });
    expect(plain.error).toMatchObject({ code: 'FORBIDDEN', message: 'nope', details: undefined });
  });

  it('a written request times out timeoutMs after the write and is forgotten', async () => {
    const { outbox, link, open } = setupOutbox();
    open();
    const r = capture(outbox.put('message', 1, 1000));
    const id = link.socket.sent[0].id;
    vi.advanceTimersByTime(1000);
    await flush();
    expect(r.error).toBeInstanceOf(HubTimeoutError);
    expect(r.error.message).toBe(`no reply to request ${id} within 1000 ms`);
    expect(outbox.settle({ event: 'ack', id })).toBe(false);
  });

  it('drop of the written requests (a drop) rejects them and clears their timers, not the queue', async () => {
    const { outbox, link, open } = setupOutbox();
    open();
    const a = capture(outbox.put('message', 1, 1000));
    const b = capture(outbox.put('join', { room: 'a' }, 1000, 'a'));
    link.state = 'reconnecting';
    const queued = capture(outbox.put('message', 3, 1000));
    // a queued item is never taken for a written one, and the reverse
    expect(
      outbox.drop(
        () => new Error('left a'),
        (item) => !item.sent && item.room === 'a',
      ),
    ).toBe(0);
    expect(
      outbox.drop(
        () => new Error('gone'),
        (item) => item.sent,
      ),
    ).toBe(2);
    await flush();
    expect([a.error?.message, b.error?.message]).toEqual(['gone', 'gone']);
    expect(queued.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1); // the queued item's expiry
    expect(outbox.settle({ event: 'ack', id: link.socket.sent[0].id })).toBe(false);
  });
});

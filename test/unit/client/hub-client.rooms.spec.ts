import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubQueueExpiredError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from '../../../src/ws-hub/client/index.js';
import { capture, flush, setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function joined(h: ReturnType<typeof setup>, ...rooms: string[]) {
  for (const room of rooms) {
    const r = capture(h.client.join(room));
    h.socket.reply('join', 'joined', { room });
    await flush();
    expect(r.value).toEqual({ room });
  }
}

describe('rooms', () => {
  it('join and leave round-trip and update client.rooms', async () => {
    const h = setup();
    h.socket.welcome();
    await joined(h, 'a', 'b');
    expect([...h.client.rooms]).toEqual(['a', 'b']);
    expect(h.socket.last('join')).toEqual({
      event: 'join',
      id: expect.any(Number),
      data: { room: 'b' },
    });
    const left = capture(h.client.leave('a'));
    expect([...h.client.rooms]).toEqual(['b']);
    h.socket.reply('leave', 'left', { room: 'a' });
    await flush();
    expect(left.value).toEqual({ room: 'a' });
  });

  it('a refused join rejects and is not remembered', async () => {
    const h = setup();
    h.socket.welcome();
    const r = capture(h.client.join('vip'));
    h.socket.reply('join', 'error', { code: 'FORBIDDEN', message: 'not allowed' });
    await flush();
    expect(r.error).toBeInstanceOf(HubRequestError);
    expect(r.error.code).toBe('FORBIDDEN');
    expect(h.client.rooms.size).toBe(0);
  });

  it('rejoins every room after each reconnect', async () => {
    const h = setup();
    h.socket.welcome();
    await joined(h, 'a', 'b');
    for (let i = 0; i < 2; i++) {
      h.socket.drop(1006);
      vi.advanceTimersByTime(1000);
      h.socket.welcome();
      expect(h.socket.sent.map((f) => [f.event, f.data.room])).toEqual([
        ['join', 'a'],
        ['join', 'b'],
      ]);
      h.socket.sent.forEach((f) => h.socket.push({ event: 'joined', id: f.id, data: f.data }));
      await flush();
    }
    expect([...h.client.rooms]).toEqual(['a', 'b']);
  });

  it('reports a refused rejoin and forgets that room', async () => {
    const h = setup();
    h.socket.welcome();
    await joined(h, 'a', 'b');
    const onRejoinError = vi.fn();
    h.client.onRejoinError(onRejoinError);
    h.socket.drop(1006);
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    const [a, b] = h.socket.sent;
    h.socket.push({ event: 'joined', id: a.id, data: { room: 'a' } });
    h.socket.push({ event: 'error', id: b.id, data: { code: 'FORBIDDEN', message: 'room full' } });
    await flush();
    expect(onRejoinError).toHaveBeenCalledOnce();
    const [room, error] = onRejoinError.mock.calls[0];
    expect(room).toBe('b');
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'room full' });
    expect([...h.client.rooms]).toEqual(['a']);
  });

  it('reports a rejoin that times out but keeps the room; a drop is not reported', async () => {
    const h = setup({ requestTimeoutMs: 1000, pingIntervalMs: 0 });
    h.socket.welcome();
    await joined(h, 'a');
    const onRejoinError = vi.fn();
    h.client.onRejoinError(onRejoinError);
    h.socket.drop(1006);
    vi.advanceTimersByTime(250);
    h.socket.welcome();
    h.socket.drop(1006); // drop before the rejoin reply: retried next time, not reported
    await flush();
    expect(onRejoinError).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    vi.advanceTimersByTime(1000);
    await flush();
    expect(onRejoinError).toHaveBeenCalledWith('a', expect.any(HubTimeoutError));
    expect([...h.client.rooms]).toEqual(['a']);
  });

  it('leave() while disconnected forgets the room without a frame', async () => {
    const h = setup();
    h.socket.welcome();
    await joined(h, 'a');
    h.socket.drop(1006);
    const r = capture(h.client.leave('a'));
    await flush();
    expect(r.value).toEqual({ room: 'a' });
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    expect(h.socket.sent).toEqual([]);
  });

  it('a join made while disconnected is remembered at once and sent once connected', async () => {
    const h = setup();
    const r = capture(h.client.join('later'));
    expect([...h.client.rooms]).toEqual(['later']);
    expect(h.socket.sent).toEqual([]);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'later' }]]);
    h.socket.reply('join', 'joined', { room: 'later' });
    await flush();
    expect(r.value).toEqual({ room: 'later' });
    expect([...h.client.rooms]).toEqual(['later']);
  });

  it('joins are intents: a queued join that expires rejects, but the room is kept and joined on the next open', async () => {
    const h = setup({ queue: { maxAgeMs: 1000 }, connectTimeoutMs: 60_000 });
    const onRejoinError = vi.fn();
    h.client.onRejoinError(onRejoinError);
    const r = capture(h.client.join('lobby'));
    vi.advanceTimersByTime(1000);
    await flush();
    expect(r.error).toBeInstanceOf(HubQueueExpiredError);
    expect(r.error.message).toBe('join not sent: no connection within 1000 ms (queue.maxAgeMs)');
    expect([...h.client.rooms]).toEqual(['lobby']);
    h.socket.welcome();
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'lobby' }]]);
    h.socket.reply('join', 'joined', { room: 'lobby' });
    await flush();
    expect(onRejoinError).not.toHaveBeenCalled();
    expect([...h.client.rooms]).toEqual(['lobby']);
  });

  it('a join that times out or is cut by a drop keeps the room; only a refusal forgets it', async () => {
    const h = setup({ requestTimeoutMs: 1000, pingIntervalMs: 0 });
    h.socket.welcome();
    const timedOut = capture(h.client.join('slow'));
    vi.advanceTimersByTime(1000);
    const cut = capture(h.client.join('cut'));
    h.socket.drop(1006);
    await flush();
    expect(timedOut.error).toBeInstanceOf(HubTimeoutError);
    expect(cut.error).toBeInstanceOf(HubDisconnectedError);
    expect([...h.client.rooms]).toEqual(['slow', 'cut']);
    vi.advanceTimersByTime(1000);
    h.socket.welcome();
    const [slow, cutJoin] = h.socket.sent;
    h.socket.push({ event: 'joined', id: slow.id, data: { room: 'slow' } });
    h.socket.push({ event: 'error', id: cutJoin.id, data: { code: 'FORBIDDEN', message: 'no' } });
    await flush();
    expect([...h.client.rooms]).toEqual(['slow']);
  });

  it('a join neither sent nor queued (queue full, queue: false, closed) is not remembered', async () => {
    const full = setup({ queue: { maxMessages: 1 } });
    full.client.send('message', 'fills the queue');
    await expect(full.client.join('a')).rejects.toThrow(HubQueueFullError);
    expect(full.client.rooms.size).toBe(0);
    const off = setup({ queue: false });
    await expect(off.client.join('a')).rejects.toThrow(HubDisconnectedError);
    expect(off.client.rooms.size).toBe(0);
    off.client.close();
    await expect(off.client.join('a')).rejects.toThrow(HubDisconnectedError);
    expect(off.client.rooms.size).toBe(0);
  });

  it('leave() drops a queued join of the room: nothing is sent, the join rejects', async () => {
    const h = setup();
    const r = capture(h.client.join('a'));
    const left = capture(h.client.leave('a'));
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    expect(r.error.message).toBe('left a');
    expect(left.value).toEqual({ room: 'a' });
    h.socket.welcome();
    expect(h.socket.sent).toEqual([]);
    expect(h.client.rooms.size).toBe(0);
  });

  it('rooms is a snapshot: the same object until the set changes, reported to onRooms', async () => {
    const h = setup();
    h.socket.welcome();
    const seen: ReadonlySet<string>[] = [];
    h.client.onRooms((rooms) => seen.push(rooms));
    const empty = h.client.rooms;
    expect(h.client.rooms).toBe(empty);
    void h.client.join('a');
    const withA = h.client.rooms;
    expect(withA).not.toBe(empty);
    expect([...withA]).toEqual(['a']);
    expect(h.client.rooms).toBe(withA);
    h.socket.reply('join', 'joined', { room: 'a' });
    await flush();
    void h.client.join('a'); // already in: no change
    expect(h.client.rooms).toBe(withA);
    void h.client.leave('a');
    expect([...h.client.rooms]).toEqual([]);
    expect(seen).toEqual([withA, h.client.rooms]);
    expect([...empty]).toEqual([]); // an old snapshot is never mutated
  });
});

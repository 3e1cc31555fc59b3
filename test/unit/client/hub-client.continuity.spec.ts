import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  capture,
  FIRST_STREAMS,
  flush,
  openRecovering,
  welcomeRecovering,
  type FakeSocket,
  type Streams,
} from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/**
 * The continuity rule in ws-hub/client (README, "Message recovery"): duplicates dropped, a gap
 * or another epoch closes with 4000 and resumes from the last positions, `skip` frames and
 * repeated `mid`s advance positions without reaching the app, joins in flight, 4409.
 */

function welcome(socket: FakeSocket, streams: Streams = FIRST_STREAMS, recovered = false): void {
  welcomeRecovering(socket, { session: 'S1', recovered, streams });
}

/** A client open on a recovery server, recording what reaches the app (`on` and `onAny`). */
async function open(rooms: string[] = []) {
  const h = await openRecovering(rooms);
  const got: unknown[][] = [];
  const any: unknown[][] = [];
  for (const event of ['news', 'chat', 'skip'])
    h.client.on(event, (data, replayed) => got.push([event, data, replayed]));
  h.client.onAny((event, data) => any.push([event, data]));
  return Object.assign(h, { got, any });
}

describe('continuity: duplicates and lost continuity', () => {
  it('drops a frame at or below its position (same epoch): the app sees it once', async () => {
    const h = await open(['a']);
    h.socket.push({ event: 'news', data: 1, pos: { all: [11, 'eAll'] } });
    h.socket.push({ event: 'news', data: 1, pos: { all: [11, 'eAll'] } });
    h.socket.push({ event: 'news', data: 0, pos: { all: [9, 'eAll'] } });
    h.socket.push({ event: 'chat', data: 'x', pos: { 'room:a': [3, 'e-a'] } });
    h.socket.push({ event: 'news', data: 2, pos: { all: [12, 'eAll'] } });
    expect(h.got).toEqual([
      ['news', 1, false],
      ['news', 2, false],
    ]);
    expect(h.any).toEqual([
      ['news', 1],
      ['news', 2],
    ]);
    expect(h.client.state).toBe('open');
    expect(h.socket.closedWith).toBeUndefined();
  });

  it.each([
    ['a gap', { all: [12, 'eAll'] }],
    ['another epoch', { all: [11, 'eOther'] }],
    ['a gap in one of its streams', { all: [11, 'eAll'], 'room:a': [5, 'e-a'] }],
  ])(
    '%s: the frame is not emitted, the socket is closed with 4000, and the client resumes from its last positions at once',
    async (_, pos) => {
      const h = await open(['a']);
      h.socket.push({ event: 'news', data: 'ok', pos: { 'user:alice': [5, 'eU'] } });
      const first = h.socket;
      h.socket.push({ event: 'news', data: 'bad', pos });
      expect(h.got).toEqual([['news', 'ok', false]]);
      expect(first.closedWith).toEqual({ code: 4000, reason: 'continuity lost' });
      // resumed like after a 1012: within random(0, restartDelayMs), the attempt not counted
      expect(h.lastChange).toEqual({
        state: 'reconnecting',
        attempt: 0,
        delayMs: 500,
        code: 4000,
        reason: 'continuity lost',
        cause: 'restart',
        willRetry: true,
      });
      // a late frame of the old socket changes nothing
      first.push({ event: 'news', data: 'late', pos: { all: [11, 'eAll'] } });
      vi.advanceTimersByTime(500);
      expect(h.sockets).toHaveLength(2);
      h.socket.open('ws-hub.recovery');
      expect(h.socket.sent[0]).toEqual({
        event: 'recover',
        data: {
          session: 'S1',
          streams: {
            ...FIRST_STREAMS,
            'user:alice': { epoch: 'eU', offset: 5 },
            'room:a': { epoch: 'e-a', offset: 3 },
          },
        },
      });
      // the replay after the resume is delivered, marked replayed
      welcome(
        h.socket,
        {
          all: { epoch: 'eAll', offset: 12, recovered: true },
          'client:c1': { epoch: 'eC1', offset: 0, recovered: true },
          'user:alice': { epoch: 'eU', offset: 5, recovered: true },
          'room:a': { epoch: 'e-a', offset: 3, recovered: true },
        },
        true,
      );
      expect(h.client.recovered).toBe(true);
      h.socket.push({ event: 'news', data: 11, pos: { all: [11, 'eAll'] } });
      h.socket.push({ event: 'news', data: 12, pos: { all: [12, 'eAll'] } });
      h.socket.push({ event: 'news', data: 13, pos: { all: [13, 'eAll'] } });
      expect(h.got.slice(1)).toEqual([
        ['news', 11, true],
        ['news', 12, true],
        ['news', 13, false],
      ]);
    },
  );

  it('repeated losses of continuity are not counted as failed attempts: no growing backoff', async () => {
    const h = await open();
    for (let i = 0; i < 3; i++) {
      h.socket.push({ event: 'news', data: i, pos: { all: [20, 'eAll'] } });
      expect(h.lastChange).toMatchObject({ state: 'reconnecting', attempt: 0, delayMs: 500 });
      vi.advanceTimersByTime(500);
      h.socket.open('ws-hub.recovery');
      welcome(h.socket);
    }
    expect(h.got).toEqual([]);
  });
});

describe('continuity: skip and mid', () => {
  it('a skip frame advances positions and never reaches the app, not even onAny', async () => {
    const h = await open(['a']);
    h.socket.push({ event: 'skip', pos: { all: [11, 'eAll'], 'room:a': [4, 'e-a'] } });
    h.socket.push({ event: 'news', data: 12, pos: { all: [12, 'eAll'] } });
    h.socket.push({ event: 'skip', pos: { all: [12, 'eAll'] } }); // a duplicate skip
    h.socket.push({ event: 'chat', data: 5, pos: { 'room:a': [5, 'e-a'] } });
    expect(h.got).toEqual([
      ['news', 12, false],
      ['chat', 5, false],
    ]);
    expect(h.any).toEqual([
      ['news', 12],
      ['chat', 5],
    ]);
    // a skip is checked like any frame: a gap in it is lost continuity
    h.socket.push({ event: 'skip', pos: { all: [14, 'eAll'] } });
    expect(h.lastChange).toMatchObject({ state: 'reconnecting', code: 4000 });
  });

  it('copies of one message (same mid, one per room) reach the app once; each advances its room', async () => {
    const h = await open(['a', 'b']);
    h.socket.push({ event: 'chat', data: 'm', mid: 'x1', pos: { 'room:a': [4, 'e-a'] } });
    h.socket.push({ event: 'chat', data: 'm', mid: 'x1', pos: { 'room:b': [4, 'e-b'] } });
    h.socket.push({ event: 'chat', data: 'n', mid: 'x2', pos: { 'room:b': [5, 'e-b'] } });
    expect(h.got).toEqual([
      ['chat', 'm', false],
      ['chat', 'n', false],
    ]);
    h.socket.drop(1006);
    vi.advanceTimersByTime(1000);
    h.socket.open('ws-hub.recovery');
    expect(h.socket.sent[0].data.streams).toMatchObject({
      'room:a': { epoch: 'e-a', offset: 4 },
      'room:b': { epoch: 'e-b', offset: 5 },
    });
  });
});

describe('continuity: joins', () => {
  it('frames of a room that arrive before its joined reply reach the app and continue the reply', async () => {
    const h = await open();
    const r = capture(h.client.join('a'));
    h.socket.push({ event: 'chat', data: 8, pos: { 'room:a': [8, 'e-a'] } });
    h.socket.push({ event: 'chat', data: 8, pos: { 'room:a': [8, 'e-a'] } });
    h.socket.reply('join', 'joined', { room: 'a', pos: [7, 'e-a'] });
    await flush();
    expect(r.value).toEqual({ room: 'a', pos: [7, 'e-a'] });
    h.socket.push({ event: 'chat', data: 9, pos: { 'room:a': [9, 'e-a'] } });
    expect(h.got).toEqual([
      ['chat', 8, false],
      ['chat', 9, false],
    ]);
    expect(h.client.state).toBe('open');
  });

  it('a joined reply that the frames received meanwhile do not continue is lost continuity', async () => {
    const h = await open();
    const r = capture(h.client.join('a'));
    h.socket.push({ event: 'chat', data: 9, pos: { 'room:a': [9, 'e-a'] } });
    const first = h.socket;
    h.socket.reply('join', 'joined', { room: 'a', pos: [7, 'e-a'] }); // 8 never came
    await flush();
    expect(first.closedWith).toEqual({ code: 4000, reason: 'continuity lost' });
    expect(r.error?.name).toBe('HubDisconnectedError');
    expect([...h.client.rooms]).toEqual(['a']); // still wanted: joined again or restored
    vi.advanceTimersByTime(500);
    h.socket.open('ws-hub.recovery');
    expect(h.socket.sent[0].data.streams).not.toHaveProperty('room:a');
  });

  it('leave while the join is in flight: the reply’s position is not taken, and the room is left again', async () => {
    const h = await open(['b']);
    const joined = capture(h.client.join('a'));
    const join = h.socket.last('join');
    const left = capture(h.client.leave('a'));
    expect([...h.client.rooms]).toEqual(['b']);
    expect(h.socket.sent.slice(-2).map((f) => [f.event, f.data])).toEqual([
      ['join', { room: 'a' }],
      ['leave', { room: 'a' }],
    ]);
    const leave = h.socket.last('leave');
    // the server applies them in order: joined, then left
    h.socket.push({ event: 'chat', data: 'in a', pos: { 'room:a': [8, 'e-a'] } });
    h.socket.push({ event: 'joined', id: join.id, data: { room: 'a', pos: [7, 'e-a'] } });
    await flush();
    expect(joined.value).toEqual({ room: 'a', pos: [7, 'e-a'] });
    // the client sends leave again, whatever happens to the first one
    expect(h.socket.sent.at(-1)).toMatchObject({ event: 'leave', data: { room: 'a' } });
    expect(h.socket.sent.at(-1).id).not.toBe(leave.id);
    h.socket.push({ event: 'left', id: leave.id, data: { room: 'a' } });
    h.socket.reply('leave', 'left', { room: 'a' });
    await flush();
    expect(left.value).toEqual({ room: 'a' });
    expect([...h.client.rooms]).toEqual(['b']);
    // a late frame of the room is not followed (and breaks nothing)
    h.socket.push({ event: 'chat', data: 'late', pos: { 'room:a': [12, 'e-a'] } });
    expect(h.client.state).toBe('open');
    h.socket.drop(1006);
    vi.advanceTimersByTime(1000);
    h.socket.open('ws-hub.recovery');
    expect(Object.keys(h.socket.sent[0].data.streams).sort()).toEqual([
      'all',
      'client:c1',
      'room:b',
      'user:alice',
    ]);
  });
});

describe('4409: the session was taken over', () => {
  it('stops with cause replaced and does not reconnect', async () => {
    const h = await open(['a']);
    const queued = capture(h.client.request('message', 'x'));
    h.socket.drop(4409, 'session resumed');
    await flush();
    expect(h.lastChange).toEqual({
      state: 'closed',
      code: 4409,
      reason: 'session resumed',
      cause: 'replaced',
      willRetry: false,
      discarded: 0,
    });
    expect(queued.error?.name).toBe('HubDisconnectedError');
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.client.state).toBe('closed');
    await expect(h.client.ready()).rejects.toThrow('client closed');
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubRequestError } from '../../../src/ws-hub/client/index.js';
import {
  capture,
  FIRST_STREAMS,
  flush,
  openRecovering,
  setup,
  welcomeRecovering,
  WELCOME,
  type Streams,
} from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Drops the connection and lets the client retry; returns the `recover` frame it sends. */
function reconnect(h: ReturnType<typeof setup>, protocol = 'ws-hub.recovery'): any {
  h.socket.drop(1006);
  vi.advanceTimersByTime(1000);
  h.socket.open(protocol);
  return h.socket.sent[0];
}

describe('recovery: negotiation', () => {
  it('offers ws-hub.recovery unless recovery is false', () => {
    expect(setup().socket.protocols).toEqual(['ws-hub.v1', 'ws-hub.recovery']);
    expect(setup({ recovery: false, token: 't' }).socket.protocols).toEqual([
      'ws-hub.v1',
      'bearer.t',
    ]);
  });

  it('speaks plain v1 when the server picks ws-hub.v1: no recover frame, rooms rejoined, recovered undefined', async () => {
    const h = setup({ pingIntervalMs: 0 });
    h.socket.open('ws-hub.v1');
    expect(h.socket.sent).toEqual([]);
    h.socket.welcome();
    expect(h.client.recovered).toBeUndefined();
    expect(h.lastChange).toEqual({ state: 'open', welcome: WELCOME, recovered: undefined });
    const r = capture(h.client.join('a'));
    h.socket.reply('join', 'joined', { room: 'a' });
    await flush();
    expect(r.value).toEqual({ room: 'a' });
    const news = vi.fn();
    h.client.on('news', news);
    h.socket.push({ event: 'news', data: 1 });
    expect(news.mock.calls).toEqual([[1]]); // exactly as without recovery

    h.socket.drop(1006);
    vi.advanceTimersByTime(1000);
    h.socket.open('ws-hub.v1');
    h.socket.welcome();
    expect(h.socket.sent.map((f) => [f.event, f.data])).toEqual([['join', { room: 'a' }]]);
    expect(h.client.recovered).toBeUndefined();
  });

  it('on a recovery server the first frame is recover, and the welcome (with its id) opens', () => {
    const h = setup({ pingIntervalMs: 0 });
    h.client.send('message', 'queued before open');
    h.socket.open('ws-hub.recovery');
    expect(h.socket.sent).toEqual([{ event: 'recover', data: { streams: {} } }]);
    expect(h.client.state).toBe('connecting');
    h.socket.push({
      event: 'welcome',
      id: 1,
      data: { ...WELCOME, recovery: { session: 'S1', recovered: false, streams: FIRST_STREAMS } },
    });
    expect(h.client.state).toBe('open');
    expect(h.client.recovered).toBe(false);
    expect(h.lastChange).toMatchObject({ state: 'open', recovered: false });
    // queued frames go out after the welcome, never before the recover frame
    expect(h.socket.sent.map((f) => f.event)).toEqual(['recover', 'message']);
    // the credential is not exposed (apps log welcomes and state changes)
    expect(h.client.welcome?.recovery).toEqual({ recovered: false, streams: FIRST_STREAMS });
    expect(JSON.stringify(h.changes)).not.toContain('S1');
  });
});

describe('recovery: positions and the recover frame', () => {
  it('presents its last credential and the positions of exactly the streams it is in', async () => {
    const h = await openRecovering(['a']);
    h.socket.push({ event: 'news', data: 1, pos: { all: [11, 'eAll'] } });
    h.socket.push({ event: 'chat', data: 2, pos: { 'room:a': [4, 'e-a'], 'room:b': [9, 'e-b'] } });
    h.socket.push({ event: 'dm', data: 3, pos: { 'user:alice': [5, 'eU'] } });
    h.socket.push({ event: 'direct', data: 4, pos: { 'client:c1': [1, 'eC1'] } });
    expect(reconnect(h)).toEqual({
      event: 'recover',
      data: {
        session: 'S1',
        streams: {
          all: { epoch: 'eAll', offset: 11 },
          'room:a': { epoch: 'e-a', offset: 4 },
          'client:c1': { epoch: 'eC1', offset: 1 },
          'user:alice': { epoch: 'eU', offset: 5 },
        },
      },
    });
  });

  it('an offset grows by one within an epoch; a resume may start a new epoch', async () => {
    const h = await openRecovering([]);
    const news = vi.fn();
    h.client.on('news', news);
    h.socket.push({ event: 'news', data: 1, pos: { all: [11, 'eAll'] } });
    h.socket.push({ event: 'news', data: 2, pos: { all: [11, 'eAll'] } }); // a duplicate
    expect(news.mock.calls).toEqual([[1, false]]);
    expect(reconnect(h).data.streams.all).toEqual({ epoch: 'eAll', offset: 11 });
    welcomeRecovering(h.socket, {
      session: 'S2',
      recovered: false,
      streams: { ...FIRST_STREAMS, all: { epoch: 'eNew', offset: 1, recovered: false } },
    });
    h.socket.push({ event: 'news', data: 3, pos: { all: [2, 'eNew'] } });
    expect(news).toHaveBeenLastCalledWith(3, false);
    expect(reconnect(h).data.streams.all).toEqual({ epoch: 'eNew', offset: 2 });
  });

  it('takes the welcome’s position for streams not recovered, keeps its own for recovered ones', async () => {
    const h = await openRecovering(['a']);
    h.socket.push({ event: 'n', data: 1, pos: { all: [11, 'eAll'], 'room:a': [4, 'e-a'] } });
    reconnect(h);
    welcomeRecovering(h.socket, {
      session: 'S2',
      recovered: false,
      streams: {
        all: { epoch: 'eAll', offset: 14, recovered: true }, // the replay of 12..14 follows
        'room:a': { epoch: 'e-a2', offset: 1, recovered: false }, // epoch changed: a gap
        'client:c1': { epoch: 'eC1', offset: 0, recovered: true },
        'user:alice': { epoch: 'eU', offset: 9, recovered: false }, // trimmed past the client
      },
    });
    h.socket.push({ event: 'n', data: 2, pos: { all: [12, 'eAll'] } });
    expect(reconnect(h).data).toEqual({
      session: 'S2',
      streams: {
        all: { epoch: 'eAll', offset: 12 },
        'room:a': { epoch: 'e-a2', offset: 1 },
        'client:c1': { epoch: 'eC1', offset: 0 },
        'user:alice': { epoch: 'eU', offset: 9 },
      },
    });
  });

  it('a stream that had no message yet (empty epoch, offset 0) is replayed from its start', async () => {
    const h = setup({ pingIntervalMs: 0 });
    h.socket.open('ws-hub.recovery');
    welcomeRecovering(h.socket, {
      session: 'S1',
      recovered: false,
      streams: { ...FIRST_STREAMS, 'user:alice': { epoch: '', offset: 0 } },
    });
    const dm = vi.fn();
    h.client.on('dm', dm);
    expect(reconnect(h).data.streams['user:alice']).toEqual({ epoch: '', offset: 0 });
    welcomeRecovering(h.socket, {
      session: 'S2',
      recovered: true,
      streams: {
        all: { epoch: 'eAll', offset: 10, recovered: true },
        'client:c1': { epoch: 'eC1', offset: 0, recovered: true },
        'user:alice': { epoch: 'eU', offset: 2, recovered: true },
      },
    });
    h.socket.push({ event: 'dm', data: 1, pos: { 'user:alice': [1, 'eU'] } });
    expect(dm).toHaveBeenLastCalledWith(1, true);
    // dropped in the middle of the replay: it resumes from what it got, not from the top
    expect(reconnect(h).data.streams['user:alice']).toEqual({ epoch: 'eU', offset: 1 });
  });

  it('a leave drops the room’s position; a joined reply sets it', async () => {
    const h = await openRecovering(['a', 'b']);
    void h.client.leave('a');
    h.socket.reply('leave', 'left', { room: 'a' });
    h.socket.push({ event: 'late', data: 0, pos: { 'room:a': [8, 'e-a'] } }); // in flight
    await flush();
    const streams = reconnect(h).data.streams;
    expect(Object.keys(streams).sort()).toEqual(['all', 'client:c1', 'room:b', 'user:alice']);
    expect(streams['room:b']).toEqual({ epoch: 'e-b', offset: 3 });
  });

  it('counts a room’s frames that arrive before the joined reply', async () => {
    const h = await openRecovering([]);
    const r = capture(h.client.join('a'));
    h.socket.push({ event: 'chat', data: 1, pos: { 'room:a': [8, 'e-a'] } });
    h.socket.reply('join', 'joined', { room: 'a', pos: [7, 'e-a'] });
    await flush();
    expect(r.settled).toBe(true);
    expect(reconnect(h).data.streams['room:a']).toEqual({ epoch: 'e-a', offset: 8 });
  });

  it('a fresh session (recovered: false) keeps the new credential and the new streams only', async () => {
    const h = await openRecovering(['a']);
    reconnect(h);
    welcomeRecovering(
      h.socket,
      {
        session: 'S9',
        recovered: false,
        streams: {
          all: { epoch: 'eAll', offset: 30 },
          'client:c2': { epoch: 'eC2', offset: 0 },
          'user:alice': { epoch: 'eU', offset: 6 },
        },
      },
      'c2',
    );
    expect(h.client.recovered).toBe(false);
    expect(h.client.welcome?.clientId).toBe('c2');
    // not restored: rejoined as without recovery
    expect(h.socket.sent.slice(1).map((f) => [f.event, f.data])).toEqual([['join', { room: 'a' }]]);
    h.socket.reply('join', 'joined', { room: 'a', pos: [20, 'e-a'] });
    await flush();
    expect(reconnect(h).data).toEqual({
      session: 'S9',
      streams: {
        all: { epoch: 'eAll', offset: 30 },
        'room:a': { epoch: 'e-a', offset: 20 },
        'client:c2': { epoch: 'eC2', offset: 0 },
        'user:alice': { epoch: 'eU', offset: 6 },
      },
    });
  });

  it('a plain v1 connection in between forgets the session and the positions', async () => {
    const h = await openRecovering(['a']);
    reconnect(h, 'ws-hub.v1');
    h.socket.welcome();
    h.socket.reply('join', 'joined', { room: 'a' });
    await flush();
    expect(reconnect(h)).toEqual({ event: 'recover', data: { streams: {} } });
  });
});

describe('recovery: resuming', () => {
  const resumed = (extra: Streams = {}, refusedRooms?: string[]) => ({
    session: 'S2',
    recovered: refusedRooms === undefined,
    streams: {
      all: { epoch: 'eAll', offset: 10, recovered: true },
      'client:c1': { epoch: 'eC1', offset: 0, recovered: true },
      'user:alice': { epoch: 'eU', offset: 4, recovered: true },
      ...extra,
    },
    ...(refusedRooms ? { refusedRooms } : {}),
  });

  it('does not rejoin the rooms the server restored, and reports recovered: true', async () => {
    const h = await openRecovering(['a', 'b']);
    const onRejoinError = vi.fn();
    h.client.onRejoinError(onRejoinError);
    h.socket.drop(1006);
    h.client.send('message', 'queued');
    vi.advanceTimersByTime(1000);
    h.socket.open('ws-hub.recovery');
    welcomeRecovering(
      h.socket,
      resumed({
        'room:a': { epoch: 'e-a', offset: 3, recovered: true },
        'room:b': { epoch: 'e-b', offset: 3, recovered: true },
      }),
    );
    expect(h.socket.sent.map((f) => f.event)).toEqual(['recover', 'message']);
    expect(h.client.recovered).toBe(true);
    expect(h.lastChange).toMatchObject({ state: 'open', recovered: true });
    expect([...h.client.rooms]).toEqual(['a', 'b']);
    expect(onRejoinError).not.toHaveBeenCalled();
  });

  it('rejoins a remembered room the server did not restore, and says recovery was not complete', async () => {
    const h = await openRecovering(['a']);
    // a room joined on a connection that dropped before the joined reply carried its position
    const b = capture(h.client.join('b'));
    h.socket.drop(1006);
    await flush();
    expect(b.error).toBeDefined();
    vi.advanceTimersByTime(1000);
    h.socket.open('ws-hub.recovery');
    welcomeRecovering(
      h.socket,
      resumed({ 'room:a': { epoch: 'e-a', offset: 3, recovered: true } }),
    );
    // b is an intent the drop did not erase: joined now; it was never joined, so nothing of it
    // was missed and recovery is complete
    expect(h.socket.sent.slice(1).map((f) => [f.event, f.data])).toEqual([['join', { room: 'b' }]]);
    expect(h.client.recovered).toBe(true);

    // now b is remembered without a position (its joined reply has none)
    h.socket.reply('join', 'joined', { room: 'b' }); // a server without pos, e.g. a bug
    await flush();
    expect([...h.client.rooms]).toEqual(['a', 'b']);
    const recover = reconnect(h);
    expect(Object.keys(recover.data.streams)).not.toContain('room:b');
    welcomeRecovering(
      h.socket,
      resumed({ 'room:a': { epoch: 'e-a', offset: 3, recovered: true } }),
    );
    expect(h.socket.sent.slice(1).map((f) => [f.event, f.data])).toEqual([['join', { room: 'b' }]]);
    expect(h.client.recovered).toBe(false);
  });

  it('reports rooms refused on resume through onRejoinError and forgets them', async () => {
    const h = await openRecovering(['a', 'vip']);
    const onRejoinError = vi.fn();
    h.client.onRejoinError(onRejoinError);
    reconnect(h);
    welcomeRecovering(
      h.socket,
      resumed({ 'room:a': { epoch: 'e-a', offset: 3, recovered: true } }, ['vip']),
    );
    expect(h.client.recovered).toBe(false);
    expect(h.socket.sent.slice(1)).toEqual([]); // no join for a: restored; none for vip: refused
    expect([...h.client.rooms]).toEqual(['a']);
    expect(onRejoinError).toHaveBeenCalledOnce();
    const [room, error] = onRejoinError.mock.calls[0];
    expect(room).toBe('vip');
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error.code).toBe('FORBIDDEN');
  });

  it('leaves a restored room the app left while the recover frame was on its way', async () => {
    const h = await openRecovering(['a', 'b']);
    reconnect(h);
    const left = capture(h.client.leave('b'));
    await flush();
    expect(left.value).toEqual({ room: 'b' });
    welcomeRecovering(
      h.socket,
      resumed({
        'room:a': { epoch: 'e-a', offset: 3, recovered: true },
        'room:b': { epoch: 'e-b', offset: 3, recovered: true },
      }),
    );
    expect(h.socket.sent.slice(1).map((f) => [f.event, f.data])).toEqual([
      ['leave', { room: 'b' }],
    ]);
    expect(Object.keys(reconnect(h).data.streams)).not.toContain('room:b');
  });

  it('passes replayed: true for the missed messages, false for live ones', async () => {
    const h = await openRecovering(['a']);
    const got: [string, unknown, boolean | undefined][] = [];
    h.client.on('news', (data, replayed) => got.push(['news', data, replayed]));
    h.client.on('chat', (data, replayed) => got.push(['chat', data, replayed]));
    reconnect(h);
    welcomeRecovering(
      h.socket,
      resumed({
        all: { epoch: 'eAll', offset: 12, recovered: true },
        'room:a': { epoch: 'e-a', offset: 4, recovered: true },
      }),
    );
    h.socket.push({ event: 'news', data: 11, pos: { all: [11, 'eAll'] } });
    h.socket.push({ event: 'news', data: 12, pos: { all: [12, 'eAll'] } });
    h.socket.push({ event: 'chat', data: 'r', pos: { 'room:a': [4, 'e-a'] } });
    h.socket.push({ event: 'news', data: 13, pos: { all: [13, 'eAll'] } });
    h.socket.push({ event: 'chat', data: 'l', pos: { 'room:a': [5, 'e-a'] } });
    expect(got).toEqual([
      ['news', 11, true],
      ['news', 12, true],
      ['chat', 'r', true],
      ['news', 13, false],
      ['chat', 'l', false],
    ]);
    expect(reconnect(h).data.streams).toMatchObject({
      all: { epoch: 'eAll', offset: 13 },
      'room:a': { epoch: 'e-a', offset: 5 },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { createPositions, resumeRooms } from '../../../src/ws-hub/client/positions.js';
import type { HubWelcome } from '../../../src/ws-hub/client/index.js';

const welcome = (recovery?: object): HubWelcome =>
  ({
    clientId: 'c1',
    userId: 'u',
    pingIntervalMs: 25_000,
    protocol: 1,
    maxPayloadBytes: 65_536,
    ...(recovery ? { recovery } : {}),
  }) as HubWelcome;

describe('client positions', () => {
  it('keeps the credential out of the welcome and presents only the streams the client is in', () => {
    const p = createPositions();
    const w = welcome({
      session: 'S1',
      recovered: false,
      streams: {
        all: { epoch: 'e', offset: 3 },
        'client:c1': { epoch: 'c', offset: 0 },
        'user:u': { epoch: 'u', offset: 1 },
        'room:gone': { epoch: 'g', offset: 1 },
      },
    });
    expect(p.welcome(w, 'ws-hub.recovery', new Set())).toEqual({
      rejoin: [],
      refused: [],
      leave: ['gone'],
      recovered: false,
    });
    expect(w.recovery).not.toHaveProperty('session');
    expect(p.request(w, ['a'])).toEqual({
      session: 'S1',
      streams: {
        all: { epoch: 'e', offset: 3 },
        'client:c1': { epoch: 'c', offset: 0 },
        'user:u': { epoch: 'u', offset: 1 },
      },
    });
    // positions of streams the client is not in are not followed
    expect(p.frame({ 'room:x': [5, 'x'], all: [4, 'e'] })).toBe(false);
    expect(p.request(w, ['x']).streams).not.toHaveProperty('room:x');
    expect(p.request(w, []).streams.all).toEqual({ epoch: 'e', offset: 4 });
  });

  it('forgets everything on a plain v1 welcome', () => {
    const p = createPositions();
    p.welcome(
      welcome({ session: 'S', recovered: false, streams: {} }),
      'ws-hub.recovery',
      new Set(),
    );
    expect(p.welcome(welcome(), 'ws-hub.v1', new Set(['a']))).toEqual({
      rejoin: ['a'],
      refused: [],
      leave: [],
      recovered: undefined,
    });
    expect(p.request(undefined, ['a'])).toEqual({ session: undefined, streams: {} });
  });

  it('follows a room with a join in flight until the reply settles', async () => {
    const p = createPositions();
    let resolve!: () => void;
    const reply = p.joining('a', new Promise<void>((r) => (resolve = r)));
    p.frame({ 'room:a': [2, 'ea'] });
    resolve();
    await reply;
    p.room('a', [1, 'ea']); // the reply's (older) position does not move it back
    expect(p.request(undefined, ['a']).streams['room:a']).toEqual({ epoch: 'ea', offset: 2 });
    p.room('a');
    expect(p.request(undefined, ['a']).streams).toEqual({});
  });
});

describe('resumeRooms', () => {
  const streams = { 'room:a': { epoch: 'e', offset: 1, recovered: true } };
  it('rejoins what was not restored, reports what was refused, leaves what was left', () => {
    expect(
      resumeRooms(new Set(['a', 'b', 'vip']), { recovered: false, streams, refusedRooms: ['vip'] }),
    ).toEqual({ rejoin: ['b'], refused: ['vip'], leave: [], recovered: false });
    expect(resumeRooms(new Set(), { recovered: true, streams })).toEqual({
      rejoin: [],
      refused: [],
      leave: ['a'],
      recovered: true,
    });
    // complete only when every remembered room came back with the session
    expect(resumeRooms(new Set(['a']), { recovered: true, streams }).recovered).toBe(true);
    expect(resumeRooms(new Set(['a', 'b']), { recovered: true, streams }).recovered).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { connectedClientOf, infoOf } from '../../../src/ws-hub/core/client-info.js';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { fakeConnection } from '../../helpers/core-parts.js';

describe('infoOf and connectedClientOf', () => {
  it('snapshot a client: id, user, address, rooms, drops, expiry', () => {
    const c = fakeConnection({
      id: 'i.a',
      ip: '10.0.0.1',
      principal: { userId: 'u1', expiresAt: 5_000, role: 'admin' },
    });
    c.rooms = new Set(['x', 'y']);
    c.droppedMessages = 4;
    const info = infoOf(c);
    expect(info).toEqual({
      id: 'i.a',
      connectedAt: 0,
      remoteAddress: '10.0.0.1',
      droppedMessages: 4,
      rooms: ['x', 'y'],
      userId: 'u1',
      expiresAt: 5_000,
    });
    info.rooms.push('z'); // a copy
    expect([...c.rooms]).toEqual(['x', 'y']);
    expect(connectedClientOf(c)).toEqual({
      ...infoOf(c),
      principal: { userId: 'u1', expiresAt: 5_000, role: 'admin' },
    });
  });

  it('leaves out what an anonymous client does not have', () => {
    const c = fakeConnection({ id: 'i.b', ip: '10.0.0.2' });
    expect(connectedClientOf(c)).toEqual({
      id: 'i.b',
      connectedAt: 0,
      remoteAddress: '10.0.0.2',
      droppedMessages: 0,
      rooms: [],
    });
  });
});

describe('Connection', () => {
  it('keeps its first id as connectionId and reads the expiry of its principal', () => {
    const socket = {} as never;
    const c = new Connection('i.a', socket, 1, undefined, { userId: 'u', expiresAt: 99 });
    c.id = 'i.resumed';
    expect(c.connectionId).toBe('i.a');
    expect(c.expiresAt).toBe(99);
    expect(c.userId).toBe('u');
    const bad = new Connection('i.b', socket, 1, undefined, { userId: 'u', expiresAt: NaN });
    expect(bad.expiresAt).toBeUndefined();
  });

  it('reads the peer address from the socket when the handshake did not, once', () => {
    const tcp = { remoteAddress: '10.9.9.9' };
    const c = new Connection('i.a', { _socket: tcp } as never, 1, undefined, undefined);
    expect(c.remoteAddress).toBe('10.9.9.9');
    tcp.remoteAddress = 'changed';
    expect(c.remoteAddress).toBe('10.9.9.9');
    expect(new Connection('i.b', {} as never, 1, undefined, undefined).remoteAddress).toBe(
      'unknown',
    );
  });
});

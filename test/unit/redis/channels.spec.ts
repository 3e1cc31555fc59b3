import { describe, expect, it } from 'vitest';
import { ChannelNames } from '../../../src/ws-hub/redis/channels.js';

describe('ChannelNames', () => {
  const names = new ChannelNames('hub');

  it('names every channel under the key prefix', () => {
    expect(names.all).toBe('hub:all');
    expect(names.room('lobby')).toBe('hub:room:lobby');
    expect(names.user('alice')).toBe('hub:user:alice');
    expect(names.instance('i1')).toBe('hub:inst:i1');
  });

  it('publishes a broadcast to everyone on the all channel', () => {
    expect(names.for({ type: 'broadcast', frame: 'F' })).toEqual(['hub:all']);
    expect(names.for({ type: 'broadcast', frame: 'F', except: ['i1.a'] })).toEqual(['hub:all']);
  });

  it('publishes a room broadcast to each distinct room channel', () => {
    expect(names.for({ type: 'broadcast', frame: 'F', rooms: ['a'] })).toEqual(['hub:room:a']);
    expect(names.for({ type: 'broadcast', frame: 'F', rooms: ['a', 'b', 'a'] })).toEqual([
      'hub:room:a',
      'hub:room:b',
    ]);
    expect(names.for({ type: 'broadcast', frame: 'F', rooms: [] })).toEqual([]);
  });

  it("sends to one client on its instance's channel, read from the client id", () => {
    expect(names.for({ type: 'send', clientId: 'i7.xyz', frame: 'F' })).toEqual(['hub:inst:i7']);
    expect(names.for({ type: 'disconnect', clientId: 'i7.x.y', code: 1000, reason: '' })).toEqual([
      'hub:inst:i7',
    ]);
  });

  it('publishes nothing for a client id no instance can own', () => {
    expect(names.for({ type: 'send', clientId: 'no-dot', frame: 'F' })).toEqual([]);
    expect(names.for({ type: 'disconnect', clientId: '.x', code: 1000, reason: '' })).toEqual([]);
  });

  it("sends to a user on the user's channel", () => {
    expect(names.for({ type: 'user', userId: 'bob', frame: 'F' })).toEqual(['hub:user:bob']);
    expect(names.for({ type: 'disconnect-user', userId: 'bob', code: 4000, reason: '' })).toEqual([
      'hub:user:bob',
    ]);
    expect(names.for({ type: 'revoke-user', userId: 'bob', reason: 'r' })).toEqual([
      'hub:user:bob',
    ]);
  });
});

describe('ChannelNames with recovery (stream channels)', () => {
  const names = new ChannelNames('hub', true);

  it("names each stream's channel as a hash tag its keys can share", () => {
    expect(names.all).toBe('{hub:all}');
    expect(names.room('lobby')).toBe('{hub:room:lobby}');
    expect(names.user('alice')).toBe('{hub:user:alice}');
    expect(names.client('i7.xyz')).toBe('{hub:client:i7.xyz}');
    expect(names.stream('room:a}b')).toBe('{hub:room:a}b}');
    expect(names.instance('i1')).toBe('hub:inst:i1'); // unchanged, not a stream
  });

  it("sends and disconnects through the client's own channel, wherever it is now", () => {
    expect(names.for({ type: 'send', clientId: 'i7.xyz', frame: 'F' })).toEqual([
      '{hub:client:i7.xyz}',
    ]);
    expect(names.for({ type: 'disconnect', clientId: 'i7.x', code: 1000, reason: '' })).toEqual([
      '{hub:client:i7.x}',
    ]);
    expect(names.for({ type: 'send', clientId: 'no-dot', frame: 'F' })).toEqual([]);
    expect(names.for({ type: 'broadcast', frame: 'F', rooms: ['a', 'b', 'a'] })).toEqual([
      '{hub:room:a}',
      '{hub:room:b}',
    ]);
  });
});

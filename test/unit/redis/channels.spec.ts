import { describe, expect, it } from 'vitest';
import {
  ChannelNames,
  SUBSCRIBE_BATCH,
  Subscriptions,
  type Subscriber,
} from '../../../src/ws-hub/redis/channels.js';

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

/** A subscriber connection that records the commands it is given. */
function fakeSubscriber(status = 'ready'): Subscriber & {
  status: string;
  calls: [string, string[]][];
  fail: boolean;
} {
  const calls: [string, string[]][] = [];
  const self = {
    status,
    calls,
    fail: false,
    subscribe: (...channels: string[]) => {
      calls.push(['subscribe', channels]);
      return self.fail ? Promise.reject(new Error('nope')) : Promise.resolve(channels.length);
    },
    unsubscribe: (...channels: string[]) => {
      calls.push(['unsubscribe', channels]);
      return Promise.resolve(0);
    },
  };
  return self;
}

describe('Subscriptions', () => {
  it('subscribes at once to a new channel while connected, once however often wanted', () => {
    const sub = fakeSubscriber();
    const s = new Subscriptions(() => undefined);
    s.attach(sub);
    s.want('c1');
    s.want('c1');
    expect(sub.calls).toEqual([['subscribe', ['c1']]]);
    expect(s.size).toBe(1);
    s.unwant('c1');
    s.unwant('c1');
    s.unwant('never-wanted');
    expect(sub.calls).toEqual([
      ['subscribe', ['c1']],
      ['unsubscribe', ['c1']],
    ]);
    expect(s.size).toBe(0);
  });

  it('only records changes while disconnected, and subscribes to what is wanted now when back', () => {
    const sub = fakeSubscriber('reconnecting');
    const s = new Subscriptions(() => undefined);
    s.want('before-attach');
    s.attach(sub);
    s.want('joined');
    s.want('left');
    s.unwant('left');
    expect(sub.calls).toEqual([]);
    expect(s.has('joined')).toBe(true);
    expect(s.has('left')).toBe(false);
    sub.status = 'ready';
    s.subscribeAll();
    expect(sub.calls).toEqual([['subscribe', ['before-attach', 'joined']]]);
  });

  it(`subscribes to everything in batches of ${SUBSCRIBE_BATCH}`, () => {
    const sub = fakeSubscriber();
    const s = new Subscriptions(() => undefined);
    for (let i = 0; i < 2 * SUBSCRIBE_BATCH + 3; i++) s.want(`c${i}`);
    s.attach(sub);
    s.subscribeAll();
    expect(sub.calls.map(([, channels]) => channels.length)).toEqual([
      SUBSCRIBE_BATCH,
      SUBSCRIBE_BATCH,
      3,
    ]);
    expect(new Set(sub.calls.flatMap(([, channels]) => channels)).size).toBe(s.size);
  });

  it('keeps a held channel while any holder is left', () => {
    const sub = fakeSubscriber();
    const s = new Subscriptions(() => undefined);
    s.attach(sub);
    s.hold('client');
    s.hold('client');
    s.release('client');
    expect(s.has('client')).toBe(true);
    s.release('client');
    s.release('client');
    expect(s.has('client')).toBe(false);
    expect(sub.calls).toEqual([
      ['subscribe', ['client']],
      ['unsubscribe', ['client']],
    ]);
  });

  it('does nothing before a connection is attached', () => {
    const s = new Subscriptions(() => undefined);
    s.want('c');
    expect(() => s.subscribeAll()).not.toThrow();
    s.clear();
    expect(s.size).toBe(0);
  });

  it('reports a refused subscription', async () => {
    const sub = fakeSubscriber();
    sub.fail = true;
    const failures: unknown[] = [];
    const s = new Subscriptions((err) => failures.push(err));
    s.attach(sub);
    s.want('c');
    await new Promise((r) => setImmediate(r));
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe('nope');
  });
});

import { describe, expect, it } from 'vitest';
import {
  SUBSCRIBE_BATCH,
  SubscriptionSet,
  type Subscriber,
} from '../../../src/ws-hub/cluster/subscription-set.js';

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

describe('SubscriptionSet', () => {
  it('subscribes at once to a new channel while connected, once however often wanted', () => {
    const sub = fakeSubscriber();
    const s = new SubscriptionSet(() => undefined);
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
    const s = new SubscriptionSet(() => undefined);
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
    const s = new SubscriptionSet(() => undefined);
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
    const s = new SubscriptionSet(() => undefined);
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
    const s = new SubscriptionSet(() => undefined);
    s.want('c');
    expect(() => s.subscribeAll()).not.toThrow();
    s.clear();
    expect(s.size).toBe(0);
  });

  it('reports a refused subscription', async () => {
    const sub = fakeSubscriber();
    sub.fail = true;
    const failures: unknown[] = [];
    const s = new SubscriptionSet((err) => failures.push(err));
    s.attach(sub);
    s.want('c');
    await new Promise((r) => setImmediate(r));
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe('nope');
  });
});

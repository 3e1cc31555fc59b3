import { describe, expect, it } from 'vitest';
import { ClientRegistry } from '../../../src/ws-hub/core/client-registry.js';
import { fakeConnection } from '../../helpers/core-parts.js';

describe('ClientRegistry', () => {
  it('indexes clients by id, in a dense list, by user and per IP', () => {
    const registry = new ClientRegistry();
    const a = fakeConnection({ id: 'i.a', userId: 'u1', ip: '10.0.0.1' });
    const b = fakeConnection({ id: 'i.b', userId: 'u1', ip: '10.0.0.1' });
    const c = fakeConnection({ id: 'i.c', ip: '10.0.0.2' });
    expect(registry.add(a)).toBe(true); // u1's first connection here
    expect(registry.add(b)).toBe(false);
    expect(registry.add(c)).toBe(false); // anonymous
    expect(registry.size).toBe(3);
    expect(registry.list).toEqual([a, b, c]);
    expect([a.index, b.index, c.index]).toEqual([0, 1, 2]);
    expect(registry.get('i.b')).toBe(b);
    expect(registry.has('i.c')).toBe(true);
    expect(registry.has('i.x')).toBe(false);
    expect([...registry.values()]).toEqual([a, b, c]);
    expect(registry.userCount).toBe(1);
    expect([...registry.ofUser('u1')!]).toEqual([a, b]);
    expect(registry.ofUser('u2')).toBeUndefined();
    expect(registry.fromIp('10.0.0.1')).toBe(2);
    expect(registry.fromIp('10.0.0.2')).toBe(1);
    expect(registry.fromIp('10.0.0.3')).toBe(0);
  });

  it('swap-removes from the dense list and tells when a user left', () => {
    const registry = new ClientRegistry();
    const a = fakeConnection({ id: 'i.a', userId: 'u1', ip: '10.0.0.1' });
    const b = fakeConnection({ id: 'i.b', userId: 'u1', ip: '10.0.0.1' });
    const c = fakeConnection({ id: 'i.c', userId: 'u2', ip: '10.0.0.2' });
    for (const x of [a, b, c]) registry.add(x);

    expect(registry.delete(a)).toBe(false); // u1 still has b
    expect(a.index).toBe(-1);
    // the last client took the removed one's place
    expect(registry.list).toEqual([c, b]);
    expect([c.index, b.index]).toEqual([0, 1]);
    expect(registry.get('i.a')).toBeUndefined();
    expect(registry.fromIp('10.0.0.1')).toBe(1);

    expect(registry.delete(b)).toBe(true); // u1's last
    expect(registry.ofUser('u1')).toBeUndefined();
    expect(registry.userCount).toBe(1);
    expect(registry.fromIp('10.0.0.1')).toBe(0);
    expect(registry.list).toEqual([c]);

    expect(registry.delete(b)).toBe(false); // twice: nothing happens
    expect(registry.size).toBe(1);
    expect(registry.delete(c)).toBe(true);
    expect(registry.size).toBe(0);
    expect(registry.userCount).toBe(0);
  });

  it('removing the last of the list leaves the others in place', () => {
    const registry = new ClientRegistry();
    const [a, b, c] = [1, 2, 3].map(() => fakeConnection());
    for (const x of [a, b, c]) registry.add(x);
    registry.delete(c);
    expect(registry.list).toEqual([a, b]);
    expect([a.index, b.index, c.index]).toEqual([0, 1, -1]);
  });

  it('does not count clients without an IP', () => {
    const registry = new ClientRegistry();
    const a = fakeConnection();
    registry.add(a);
    expect(registry.fromIp('undefined')).toBe(0);
    registry.delete(a);
    expect(registry.size).toBe(0);
  });

  it('rekeys a resumed session; the connection it replaces keeps its other indexes until deleted', () => {
    const registry = new ClientRegistry();
    const old = fakeConnection({ id: 'i.session', userId: 'u1', ip: '10.0.0.1' });
    const fresh = fakeConnection({ id: 'i.fresh', userId: 'u1', ip: '10.0.0.1' });
    registry.add(old);
    registry.add(fresh);

    registry.rekey(fresh, 'i.session');
    expect(fresh.id).toBe('i.session');
    expect(registry.get('i.session')).toBe(fresh);
    expect(registry.has('i.fresh')).toBe(false);
    expect(registry.size).toBe(2); // the old connection is still listed until it is deleted

    // deleting the replaced connection must not take the resumed one's id with it
    expect(registry.delete(old)).toBe(false);
    expect(registry.get('i.session')).toBe(fresh);
    expect(registry.list).toEqual([fresh]);
    expect([...registry.ofUser('u1')!]).toEqual([fresh]);
    expect(registry.fromIp('10.0.0.1')).toBe(1);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { HubApp } from '../helpers/app.js';
import { TestClient, waitFor, type Frame } from '../helpers/client.js';

/**
 * One behavioural suite for every `HubAdapter`: whatever the adapter, the hub must behave as
 * one hub whichever instance the caller and the clients are on. Clients are spread
 * round-robin over the instances.
 */
export interface ConformanceTarget {
  /** How many hub instances `start()` returns. */
  instances: number;
  /** Starts the instances (built with `conformanceHubOptions` plus the adapter under test). */
  start(): Promise<HubApp[]>;
  /** Stops the instances and whatever they need (e.g. a redis-server). */
  stop(): Promise<void>;
  /**
   * Waits until room/user subscriptions made so far are in effect on every instance (an
   * adapter may apply them asynchronously, e.g. a Redis SUBSCRIBE on the wire). Default: none.
   */
  settle?(apps: HubApp[]): Promise<void>;
  /** Upper bound on how stale another instance's online count may be, in ms. Default 0. */
  presenceLatencyMs?: number;
  /**
   * Called once a fence arrived everywhere. An adapter that keeps each publisher's order per
   * channel only (Redis Cluster: channels on different shards) waits here for messages on other
   * channels still in flight. Default: nothing to wait for.
   */
  afterFence?(apps: HubApp[]): Promise<void>;
}

let anonymous = 0;

/** Hub options every target must use: `?token=<user>` authenticates as that user. */
export const conformanceHubOptions: WsHubModuleOptions = {
  authenticate: (_req, ctx) => ({ userId: ctx.token ?? `anon-${++anonymous}` }),
  rateLimit: false,
  pingIntervalMs: 60_000,
};

type Client = TestClient & { id: string };

export function describeHubAdapterConformance(name: string, target: ConformanceTarget): void {
  describe(`HubAdapter conformance: ${name}`, () => {
    let apps: HubApp[] = [];
    let clients: Client[] = [];
    let fenceSeq = 0;
    const n = target.instances;

    beforeAll(async () => {
      apps = await target.start();
      expect(apps).toHaveLength(n);
    });

    afterAll(async () => {
      for (const c of clients) c.terminate();
      clients = [];
      await target.stop();
    });

    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      clients = [];
      // Every test starts from an empty cluster.
      await waitFor(
        () => apps.every((a) => a.hub.online === 0 && a.hub.rooms().length === 0),
        5_000,
      );
      await settle();
    });

    const settle = async (): Promise<void> => {
      if (target.settle) await target.settle(apps);
    };

    /** Connects a client to instance `i % n` (optionally as a user) and waits for its welcome. */
    async function connect(i: number, user?: string): Promise<Client> {
      const app = apps[i % n];
      const c = await TestClient.welcomed(
        user ? `${app.url}?token=${encodeURIComponent(user)}` : app.url,
      );
      clients.push(c);
      return c;
    }

    async function connectMany(count: number): Promise<Client[]> {
      const out: Client[] = [];
      for (let i = 0; i < count; i++) out.push(await connect(i));
      await settle();
      return out;
    }

    function appOf(c: Client): HubApp {
      const app = apps.find((a) => a.hub.isOnline(c.id));
      if (!app) throw new Error(`client ${c.id} is on no instance`);
      return app;
    }

    const count = (
      c: TestClient,
      event: string,
      match: (f: Frame) => boolean = () => true,
    ): number => c.frames.filter((f) => f.event === event && match(f)).length;

    /**
     * Every instance broadcasts a fence; once each client has all of them, everything any
     * instance published before has arrived too (per-publisher ordering), so counts are final.
     */
    async function fence(targets: TestClient[]): Promise<void> {
      const k = ++fenceSeq;
      for (const a of apps) a.hub.broadcast('fence', { k });
      await Promise.all(
        targets.map((c) =>
          waitFor(() => count(c, 'fence', (f) => f.data.k === k) === n, 5_000).catch(() => {
            throw new Error(
              `fence ${k}: client got ${count(c, 'fence', (f) => f.data.k === k)}/${n}`,
            );
          }),
        ),
      );
      if (target.afterFence) await target.afterFence(apps);
    }

    it('a broadcast to all from each instance reaches every client exactly once', async () => {
      const cs = await connectMany(2 * n);
      for (let i = 0; i < n; i++) {
        const local = cs.filter((c) => appOf(c) === apps[i]).length;
        expect(apps[i].hub.broadcast('hello', { from: i })).toBe(local);
      }
      await fence(cs);
      for (const c of cs) {
        expect(count(c, 'hello')).toBe(n);
        expect(
          c
            .events('hello')
            .map((f) => f.data.from)
            .sort(),
        ).toEqual([...Array(n).keys()]);
      }
    });

    it('honours except, whichever instance the excluded clients are on', async () => {
      const cs = await connectMany(2 * n);
      const excluded = [cs[1], cs[cs.length - 1]];
      for (let i = 0; i < n; i++) {
        apps[i].hub.broadcast('x', { from: i }, { except: excluded.map((c) => c.id) });
      }
      await fence(cs);
      for (const c of cs) expect(count(c, 'x')).toBe(excluded.includes(c) ? 0 : n);
    });

    it('joins and leaves rooms through the protocol; room broadcasts reach members only', async () => {
      const cs = await connectMany(2 * n);
      const members = cs.filter((_, i) => i % 2 === 0);
      let id = 0;
      for (const c of members) {
        const reply = await c.request({ event: 'join', id: ++id, data: { room: 'red' } });
        expect(reply).toEqual({ event: 'joined', id, data: { room: 'red' } });
        expect(appOf(c).hub.roomsOf(c.id)).toEqual(['red']);
      }
      // No settle(): a `joined` ack promises that broadcasts from any instance reach the client.
      for (let i = 0; i < n; i++) apps[i].hub.broadcast('r', { from: i }, { rooms: 'red' });
      await fence(cs);
      for (const c of cs) expect(count(c, 'r')).toBe(members.includes(c) ? n : 0);

      const leaver = members[0];
      expect(await leaver.request({ event: 'leave', id: ++id, data: { room: 'red' } })).toEqual({
        event: 'left',
        id,
        data: { room: 'red' },
      });
      await settle();
      for (let i = 0; i < n; i++) apps[i].hub.broadcast('r2', { from: i }, { rooms: ['red'] });
      await fence(cs);
      for (const c of cs) expect(count(c, 'r2')).toBe(members.includes(c) && c !== leaver ? n : 0);
    });

    it('joins and leaves rooms through HubService.join/leave', async () => {
      const cs = await connectMany(2 * n);
      const members = [cs[0], cs[cs.length - 1]];
      for (const c of members) {
        expect(appOf(c).hub.join(c.id, 'blue')).toBe(true);
        expect(appOf(c).hub.membersOf('blue')).toContain(c.id);
      }
      if (n > 1) {
        const elsewhere = apps.find((a) => a !== appOf(cs[0]))!;
        expect(elsewhere.hub.join(cs[0].id, 'blue')).toBe(false);
      }
      await settle();
      for (let i = 0; i < n; i++) apps[i].hub.broadcast('b', { from: i }, { rooms: ['blue'] });
      await fence(cs);
      for (const c of cs) expect(count(c, 'b')).toBe(members.includes(c) ? n : 0);

      expect(appOf(members[0]).hub.leave(members[0].id, 'blue')).toBe(true);
      await settle();
      for (let i = 0; i < n; i++) apps[i].hub.broadcast('b2', { from: i }, { rooms: ['blue'] });
      await fence(cs);
      for (const c of cs) expect(count(c, 'b2')).toBe(c === members[1] ? n : 0);
    });

    it('delivers a broadcast to a union of rooms once per client, minus except', async () => {
      // Several clients of each kind, spread so that every instance holds every kind.
      const kinds = ['A', 'B', 'AB', 'none', 'ABx'] as const;
      const byKind = new Map<string, Client[]>(kinds.map((k) => [k, []]));
      let i = 0;
      for (const kind of kinds) {
        for (let j = 0; j < n; j++) {
          const c = await connect(i++);
          byKind.get(kind)!.push(c);
          const hub = appOf(c).hub;
          if (kind.includes('A')) hub.join(c.id, 'A');
          if (kind.includes('B')) hub.join(c.id, 'B');
        }
      }
      await settle();
      const except = byKind.get('ABx')!.map((c) => c.id);
      for (let k = 0; k < n; k++)
        apps[k].hub.broadcast('u', { from: k }, { rooms: ['A', 'B'], except });
      await fence(clients);
      for (const [kind, cs] of byKind) {
        for (const c of cs) {
          expect(count(c, 'u'), `${kind} client`).toBe(kind === 'none' || kind === 'ABx' ? 0 : n);
        }
      }
    });

    it('sends to a single client on any instance', async () => {
      const cs = await connectMany(2 * n);
      for (let a = 0; a < n; a++) {
        for (const c of cs) expect(apps[a].hub.send(c.id, 'dm', { from: a, to: c.id })).toBe(true);
      }
      await fence(cs);
      for (const c of cs) {
        expect(count(c, 'dm')).toBe(n);
        expect(c.events('dm').every((f) => f.data.to === c.id)).toBe(true);
      }
    });

    it('sends to every connection of a user, on every instance', async () => {
      const alice1 = await connect(0, 'alice');
      const alice2 = await connect(1, 'alice');
      const bob = await connect(2, 'bob');
      const other = await connect(3);
      await settle();
      for (let a = 0; a < n; a++) {
        const local = [alice1, alice2].filter((c) => appOf(c) === apps[a]).length;
        expect(apps[a].hub.sendToUser('alice', 'u', { from: a })).toBe(local);
      }
      await fence([alice1, alice2, bob, other]);
      expect(count(alice1, 'u')).toBe(n);
      expect(count(alice2, 'u')).toBe(n);
      expect(count(bob, 'u')).toBe(0);
      expect(count(other, 'u')).toBe(0);
    });

    it('disconnects a client on another instance with the given close code', async () => {
      const cs = await connectMany(n + 1);
      const victim = cs[n - 1];
      const caller = apps[0];
      const closed = victim.closed();
      expect(caller.hub.disconnect(victim.id, 4001, 'bye')).toBe(true);
      expect(await closed).toBe(4001);
      expect(victim.closeReason).toBe('bye');
      await fence(cs.filter((c) => c !== victim));
      for (const c of cs) if (c !== victim) expect(c.closeCode).toBeUndefined();
    });

    it('disconnects every connection of a user across instances', async () => {
      const alice = [
        await connect(0, 'alice'),
        await connect(1, 'alice'),
        await connect(2, 'alice'),
      ];
      const bob = await connect(3, 'bob');
      await settle();
      const closing = alice.map((c) => c.closed());
      apps[n - 1].hub.disconnectUser('alice', 4002, 'kicked');
      expect(await Promise.all(closing)).toEqual([4002, 4002, 4002]);
      await fence([bob]);
      expect(bob.closeCode).toBeUndefined();
    });

    it('revokes every connection of a user across instances (4441)', async () => {
      const alice = [await connect(0, 'alice'), await connect(n - 1, 'alice')];
      const bob = await connect(1, 'bob');
      await settle();
      const closing = alice.map((c) => c.closed());
      const here = alice.filter((c) => appOf(c) === apps[0]).length;
      expect(apps[0].hub.revokeUser('alice', 'logged out')).toBe(here);
      expect(await Promise.all(closing)).toEqual([4441, 4441]);
      expect(alice.map((c) => c.closeReason)).toEqual(['logged out', 'logged out']);
      await fence([bob]);
      expect(bob.closeCode).toBeUndefined();
    });

    it('keeps each instance’s publishing order for every client', async () => {
      const cs = await connectMany(2 * n);
      const total = 200;
      for (let k = 0; k < total; k++) {
        for (let a = 0; a < n; a++) apps[a].hub.broadcast('seq', { from: a, k });
      }
      await fence(cs);
      for (const c of cs) {
        for (let a = 0; a < n; a++) {
          const ks = c
            .events('seq')
            .filter((f) => f.data.from === a)
            .map((f) => f.data.k);
          expect(ks).toEqual([...Array(total).keys()]);
        }
      }
    });

    it('counts the cluster online after connects and disconnects', async () => {
      const latency = (target.presenceLatencyMs ?? 0) * 3 + 1_000;
      const online = async (expected: number): Promise<void> => {
        await waitFor(async () => {
          const counts = await Promise.all(apps.map((a) => a.hub.clusterOnline()));
          return counts.every((x) => x === expected);
        }, latency);
      };
      await online(0);
      const cs = await connectMany(2 * n + 1);
      await online(cs.length);
      for (const a of apps) {
        const list = await a.hub.instances();
        expect(list.map((i) => i.id).sort()).toEqual(apps.map((x) => x.hub.instanceId).sort());
        expect(list.reduce((s, i) => s + i.online, 0)).toBe(cs.length);
      }

      // This instance's own count is live, not as of its last presence refresh.
      const app0 = appOf(cs[0]);
      const before = await app0.hub.clusterOnline();
      await cs[0].close();
      await waitFor(() => !app0.hub.isOnline(cs[0].id));
      expect(await app0.hub.clusterOnline()).toBe(before - 1);

      // A disconnect on another instance shows everywhere within the presence latency.
      await cs[1].close();
      await online(cs.length - 2);
    });

    it('leaves every room when a client disconnects', async () => {
      const leaver = await connect(0);
      const stayer = await connect(n > 1 ? 1 : 0);
      const watcher = await connect(2);
      await leaver.request({ event: 'join', id: 1, data: { room: 'g1' } });
      await leaver.request({ event: 'join', id: 2, data: { room: 'g2' } });
      await stayer.request({ event: 'join', id: 1, data: { room: 'g1' } });
      const home = appOf(leaver);
      const leaverId = leaver.id;
      await leaver.close();
      await waitFor(() => !home.hub.isOnline(leaverId));
      expect(home.hub.membersOf('g1')).not.toContain(leaverId);
      expect(home.hub.membersOf('g2')).toEqual([]);
      expect(home.hub.rooms()).not.toContain('g2');
      expect(home.hub.roomsOf(leaverId)).toEqual([]);
      await settle();
      for (let a = 0; a < n; a++) apps[a].hub.broadcast('g', { from: a }, { rooms: ['g1', 'g2'] });
      await fence([stayer, watcher]);
      expect(count(stayer, 'g')).toBe(n);
      expect(count(watcher, 'g')).toBe(0);
    });
  });
}

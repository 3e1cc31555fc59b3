import { describe, expect, it } from 'vitest';
import { ChannelNames } from '../../../src/ws-hub/redis/channels.js';
import { ShardedSubscriber } from '../../../src/ws-hub/redis/cluster-topology.js';
import { resolveRedisOptions } from '../../../src/ws-hub/redis/options.js';
import { RedisOutageLog } from '../../../src/ws-hub/redis/outage.js';
import { presenceKeys } from '../../../src/ws-hub/redis/presence.js';
import { REORDER_WINDOW, ReorderingFilter } from '../../../src/ws-hub/cluster/sequence-filter.js';
import { mergePositions, parseEntry } from '../../../src/ws-hub/redis/stream-keys.js';

/** Enough of an ioredis Cluster for validation (never connected here). */
const fakeCluster = (options: object) =>
  ({ duplicate: () => undefined, publish: () => undefined, isCluster: true, options }) as never;

describe('Redis adapter, cluster mode', () => {
  it('accepts cluster nodes or a Cluster client with shardedSubscribers, and nothing less', () => {
    const nodes = [{ host: '127.0.0.1', port: 7000 }];
    expect(resolveRedisOptions({ cluster: { nodes } })).toMatchObject({
      cluster: { nodes },
      url: undefined,
      client: undefined,
    });
    const given = fakeCluster({ shardedSubscribers: true });
    expect(resolveRedisOptions({ client: given })).toMatchObject({
      clusterClient: given,
      client: undefined,
    });
    expect(() => resolveRedisOptions({ client: fakeCluster({}) })).toThrow(/Cluster/);
    expect(() => resolveRedisOptions({ cluster: { nodes: [] } })).toThrow(
      'RedisHubAdapter: "cluster.nodes" must list at least one { host, port }',
    );
  });

  it('hash-tags every channel and the presence keys', () => {
    const names = new ChannelNames('hub', false, true);
    expect([names.all, names.room('a'), names.user('u'), names.instance('i')]).toEqual([
      '{hub:all}',
      '{hub:room:a}',
      '{hub:user:u}',
      '{hub:inst:i}',
    ]);
    expect(names.for({ type: 'broadcast', frame: '{}', rooms: ['a', 'b', 'a'] })).toEqual([
      '{hub:room:a}',
      '{hub:room:b}',
    ]);
    expect(new ChannelNames('hub', true, true).client('c1')).toBe('{hub:client:c1}');
    expect(new ChannelNames('hub').room('a')).toBe('hub:room:a'); // single Redis: unchanged
    expect(presenceKeys('hub', true)).toEqual(['{hub}:instances', '{hub}:online', '{hub}:layout']);
    expect(presenceKeys('hub')).toEqual(['hub:instances', 'hub:online', 'hub:layout']);
  });

  it('accepts each origin sequence once, in any order, within the window', () => {
    const f = new ReorderingFilter();
    expect([5, 7, 6, 7, 5, 8].map((s) => f.accept('a', s))).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(f.accept('b', 1)).toBe(true);
    f.accept('a', 8 + REORDER_WINDOW);
    expect(f.accept('a', 8)).toBe(false); // below the window: counted as a copy
    for (let s = 9 + REORDER_WINDOW; s < 9 + 4 * REORDER_WINDOW; s++) f.accept('a', s);
    expect(f.accept('a', 8 + 4 * REORDER_WINDOW)).toBe(false); // still seen after pruning
    f.forgetSilent(new Set(['a']), -1);
    expect(f.size).toBe(1);
  });

  it('merges the positions of several slot groups and reads the shared message id', () => {
    expect(mergePositions(['{"room:a":[1,"e"]}', '{}', '{"room:b":[4,"f"]}'])).toBe(
      '{"room:a":[1,"e"],"room:b":[4,"f"]}',
    );
    const text = '{"event":"x","pos":{"room:a":[1,"e"]}}';
    const parsed = parseEntry(['1-0', ['d', text, 'p', '12', 'a', '1000', 'i', 'k:7']]);
    expect(parsed?.entry).toMatchObject({ id: 'k:7', positions: { 'room:a': [1, 'e'] } });
  });

  it('subscribes channel by channel; ping waits for every (un)subscribe sent', async () => {
    const calls: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cluster = {
      status: 'ready',
      ssubscribe: (c: string) => (calls.push('s ' + c), gate),
      sunsubscribe: (c: string) => (calls.push('u ' + c), Promise.resolve()),
    };
    const sub = new ShardedSubscriber(cluster as never);
    void sub.subscribe('{a}', '{b}');
    void sub.unsubscribe('{c}');
    expect(calls).toEqual(['s {a}', 's {b}', 'u {c}']);
    let pinged = false;
    const ping = sub.ping().then(() => (pinged = true));
    await Promise.resolve();
    expect(pinged).toBe(false);
    release();
    await ping;
    expect(pinged).toBe(true);
  });

  it('ends a cluster outage only after quietMs without failures', () => {
    let now = 0;
    const lines: string[] = [];
    const logger = { log: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const log = new RedisOutageLog('cluster', [], logger, () => now);
    log.quietMs = 200;
    log.failure('publish', 'x');
    now = 100;
    log.recovered();
    expect(log.active).toBe(true);
    now = 350;
    log.recovered();
    expect(log.active).toBe(false);
    expect(lines).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { ReorderingFilter, SequenceFilter } from '../../../src/ws-hub/cluster/sequence-filter.js';
import { ClusterTopology } from '../../../src/ws-hub/redis/cluster-topology.js';
import { resolveRedisOptions } from '../../../src/ws-hub/redis/options.js';
import { SingleTopology } from '../../../src/ws-hub/redis/single-topology.js';
import { reconnectDelay, type ConnectionEvents } from '../../../src/ws-hub/redis/topology.js';

const events: ConnectionEvents = {
  ready: () => undefined,
  failure: () => undefined,
  message: () => undefined,
  wanted: () => true,
};

describe('Redis topologies', () => {
  it('a single Redis: plain names, the in-order filter, no quiet period, one script per message', () => {
    const t = new SingleTopology(resolveRedisOptions({ url: 'redis://h:1' }), events);
    expect(t.layout).toBe('cluster=off');
    expect(t.channelNames('hub', false).room('a')).toBe('hub:room:a');
    expect(t.channelNames('hub', true).room('a')).toBe('{hub:room:a}');
    expect(t.presenceKeys('hub')).toEqual(['hub:instances', 'hub:online', 'hub:layout']);
    expect(t.messageFilter()).toBeInstanceOf(SequenceFilter);
    expect(t.outageQuietMs).toBe(0);
    expect(t.recordedCopies()).toBeUndefined();
    expect(t.bothReady()).toBe(false);
  });

  it('a Redis Cluster: every name hash-tagged, the reordering filter, a quiet period, copies per stream', () => {
    const o = resolveRedisOptions({ cluster: { nodes: [{ host: 'h', port: 1 }] } });
    const t = new ClusterTopology(o, events);
    expect(t.layout).toBe('cluster=on');
    expect(t.channelNames('hub', false).room('a')).toBe('{hub:room:a}');
    expect(t.channelNames('hub', false).instance('i1')).toBe('{hub:inst:i1}');
    expect(t.presenceKeys('hub')).toEqual(['{hub}:instances', '{hub}:online', '{hub}:layout']);
    expect(t.messageFilter()).toBeInstanceOf(ReorderingFilter);
    expect(t.outageQuietMs).toBe(o.heartbeatIntervalMs);
    expect(t.recordedCopies().idPrefix).toMatch(/^[\w-]{8}:$/);
  });

  it('backs off exponentially up to the cap, with under 100 ms of jitter', () => {
    for (let i = 0; i < 50; i++) {
      const first = reconnectDelay(1, 1_000);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThan(150);
      const late = reconnectDelay(30, 1_000);
      expect(late).toBeGreaterThanOrEqual(1_000);
      expect(late).toBeLessThan(1_100);
    }
  });
});

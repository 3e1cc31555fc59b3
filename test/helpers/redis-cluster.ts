import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster for one test file: `masters` masters with `replicasPerMaster`
 * replicas each, `redis-server` processes on free ports of 127.0.0.1 (`cluster-enabled yes`),
 * joined with `redis-cli --cluster create`. A short `cluster-node-timeout` makes failovers
 * take about a second.
 */
export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** `host:port` of every node, for ioredis' `Cluster` startup nodes. */
  readonly startupNodes: { host: string; port: number }[];
  /** Ports of the current masters, as the cluster reports them now. */
  masters(): Promise<number[]>;
  /** Waits until every live node reports `cluster_state:ok`. */
  waitForOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const CLUSTER_NODE_TIMEOUT_MS = 1_000;

/**
 * Ports (client and cluster bus) are taken below the ephemeral range (20000-32767): with a
 * benchmark holding tens of thousands of loopback connections, a port `freePort()` saw free is
 * often taken again before redis-server binds it.
 */

/** A port of 20000-32767 free on 127.0.0.1 right now. */
async function lowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_700);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function startNode(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startRedisServer({
        port: await lowPort(),
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(await lowPort()),
          '--cluster-node-timeout',
          String(CLUSTER_NODE_TIMEOUT_MS),
          '--cluster-require-full-coverage',
          'no',
          // Replicas sync at once (not after the default 5 s diskless delay): a replica that
          // never synced refuses to fail over.
          '--repl-diskless-sync-delay',
          '0',
        ],
      });
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const opts = { timeout: 10_000 };
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], opts);
  return stdout;
}

/** Waits until `count` replicas report their master link up (they can fail over then). */
async function replicasSynced(nodes: RedisServer[], count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const infos = await Promise.all(
      nodes.map((n) => cli(n.port, 'info', 'replication').catch(() => '')),
    );
    if (infos.filter((i) => i.includes('master_link_status:up')).length >= count) return;
    if (Date.now() > deadline) throw new Error('Redis Cluster replicas not synced in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until every node gives the same slot map: right after `--cluster create`, a node may
 * still answer CLUSTER SLOTS with a partial view, and a client that loads it meets MOVED
 * redirects (whose retries reorder commands) in the first test.
 */
async function slotsAgreed(nodes: RedisServer[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  const probes = nodes.map((n) => new Redis(n.port, '127.0.0.1', { lazyConnect: false }));
  try {
    for (;;) {
      const maps = await Promise.all(
        probes.map((p) =>
          (p.call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number]][]>).then(
            (ranges) =>
              ranges
                .map(([from, to, master]) => `${from}-${to}@${master[1]}`)
                .sort()
                .join(' '),
            () => '',
          ),
        ),
      );
      if (maps[0] && maps.every((m) => m === maps[0])) return;
      if (Date.now() > deadline) throw new Error('Redis Cluster nodes disagree on slots');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const p of probes) p.disconnect();
  }
}

export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number } = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startNode());
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    throw err;
  }
  const cluster: RedisCluster = {
    nodes,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    async masters() {
      for (const n of nodes) {
        if (!n.running) continue;
        try {
          const out = await cli(n.port, 'cluster', 'nodes');
          return out
            .split('\n')
            .filter((l) => /[ ,]master[ ,]/.test(l) && !/fail/.test(l))
            .map((l) => Number(/:(\d+)@/.exec(l)![1]));
        } catch {
          // try the next node
        }
      }
      return [];
    },
    async waitForOk(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter((n) => n.running);
        const states = await Promise.all(
          live.map((n) => cli(n.port, 'cluster', 'info').catch(() => '')),
        );
        if (states.every((s) => s.includes('cluster_state:ok'))) return;
        if (Date.now() > deadline) throw new Error('Redis Cluster not ok in time');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    },
  };
  await cluster.waitForOk();
  await replicasSynced(nodes, masters * replicas);
  await slotsAgreed(nodes);
  return cluster;
}

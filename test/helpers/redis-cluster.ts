import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, startRedisServer, type RedisServer } from './redis-server.js';

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

/** One cluster node; its bus port is chosen free too (the default, port + 10000, may be taken). */
async function startNode(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startRedisServer({
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(await freePort()),
          '--cluster-node-timeout',
          String(CLUSTER_NODE_TIMEOUT_MS),
          '--cluster-require-full-coverage',
          'no',
        ],
      });
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number } = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startNode());
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
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
        const states = await Promise.all(
          nodes.filter((n) => n.running).map((n) => cli(n.port, 'cluster', 'info').catch(() => '')),
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
  return cluster;
}

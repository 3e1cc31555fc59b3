import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { ensureDemoBuilt } from '../helpers/demo.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts/start-cluster.mjs');

/** `npm run start:cluster` without its build step, with stdin to type into. */
function startCluster(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { child, exited, output: () => output };
}

/** The script's own lines (`cluster: ...`), without the instances' logs. */
const clusterLines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('cluster: '))
    .map((l) => l.slice('cluster: '.length));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('scripts/start-cluster.mjs (npm run start:cluster)', () => {
  let redis: RedisServer | undefined;
  let cluster: { child: ChildProcess } | undefined;
  afterEach(async () => {
    if (cluster && cluster.child.exitCode === null) cluster.child.kill('SIGKILL');
    cluster = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('refuses a bad HUB_DRAIN_MS or argument with one line, before starting anything', async () => {
    const bad = startCluster({ HUB_DRAIN_MS: 'soon' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toBe(
      'cluster: environment variable HUB_DRAIN_MS must be a whole number, got "soon"\n',
    );
    const unknown = startCluster({}, ['--rolling']);
    expect(await unknown.exited).toBe(1);
    expect(unknown.output()).toBe(
      'cluster: unknown argument "--rolling" (use --rolling-restart-every=<seconds>)\n',
    );
  });

  it('restarts its instances one at a time on "r": SIGTERM, healthy again, then the next; one always serves', async () => {
    ensureDemoBuilt();
    redis = await startRedisServer();
    const ports = [await freePort(), await freePort()];
    const c = startCluster({
      REDIS_URL: redis.url,
      CLUSTER_PORTS: ports.join(','),
      HUB_DRAIN_MS: '1234',
    });
    cluster = c;
    onTestFailed(() => void process.stderr.write(`cluster output:\n${c.output()}\n`));
    await waitFor(() => clusterLines(c.output()).some((l) => l.startsWith('ready')), 30_000, 50);
    const ready = clusterLines(c.output()).find((l) => l.startsWith('ready'))!;
    const oldPids = ports.map((p) => Number(new RegExp(`:${p} pid (\\d+)`).exec(ready)![1]));
    // HUB_DRAIN_MS reaches every instance (for the hub's drain on shutdown)
    for (const pid of oldPids) {
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(
        'HUB_DRAIN_MS=1234',
      );
    }
    // one client on each instance; both see the other's broadcast (one cluster)
    const clients = await Promise.all(
      ports.map((p) => TestClient.welcomed(`ws://127.0.0.1:${p}/ws`)),
    );
    const closedAt: number[] = [];
    clients.forEach(
      (client, i) => void client.closed(60_000).then(() => (closedAt[i] = Date.now())),
    );

    // GET /health of both instances every 50 ms during the restart
    const samples: { at: number; up: boolean[] }[] = [];
    const sampling = { on: true };
    const sampler = (async () => {
      while (sampling.on) {
        const up = await Promise.all(
          ports.map((p) =>
            fetch(`http://127.0.0.1:${p}/health`, { signal: AbortSignal.timeout(1000) })
              .then((r) => r.status === 200)
              .catch(() => false),
          ),
        );
        samples.push({ at: Date.now(), up });
        await sleep(50);
      }
    })();
    const startedAt = Date.now();
    c.child.stdin!.write('r\n');
    await waitFor(
      () => clusterLines(c.output()).some((l) => l.startsWith('rolling restart done')),
      60_000,
      50,
    );
    const rollMs = Date.now() - startedAt;
    sampling.on = false;
    await sampler;

    const lines = clusterLines(c.output());
    const from = lines.findIndex((l) => l.startsWith('rolling restart of 2'));
    const steps = lines.slice(from + 1).map((l) => l.replace(/\d+ ms/g, 'N ms'));
    expect(steps.map((l) => l.replace(/pid \d+/, 'pid P'))).toEqual([
      `:${ports[0]} (pid P) stopping (SIGTERM)`,
      `:${ports[0]} exited after N ms; starting it again`,
      `:${ports[0]} (pid P) healthy again, N ms after SIGTERM`,
      `:${ports[1]} (pid P) stopping (SIGTERM)`,
      `:${ports[1]} exited after N ms; starting it again`,
      `:${ports[1]} (pid P) healthy again, N ms after SIGTERM`,
      expect.stringMatching(/^rolling restart done in \d+\.\d s$/),
    ]);
    const newPids = steps
      .filter((l) => l.includes('healthy again'))
      .map((l) => Number(/pid (\d+)/.exec(l)![1]));
    expect(newPids).toHaveLength(2);
    for (const pid of newPids) {
      expect(oldPids).not.toContain(pid);
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(
        'HUB_DRAIN_MS=1234',
      );
    }
    // each instance's client got the hub's drain (1012), the first instance's before the second's
    await waitFor(() => closedAt.length === 2 && closedAt.every(Boolean), 5000);
    expect(clients.map((cl) => cl.closeCode)).toEqual([1012, 1012]);
    expect(closedAt[0]).toBeLessThan(closedAt[1]);
    // Both were down at some point, never both at once.
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.some((s) => !s.up[0])).toBe(true);
    expect(samples.some((s) => !s.up[1])).toBe(true);
    expect(samples.filter((s) => !s.up[0] && !s.up[1])).toEqual([]);
    expect(samples.at(-1)!.up).toEqual([true, true]);
    expect(rollMs).toBeLessThan(30_000);

    // Ctrl+C stops every instance, and the script exits 0
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(0);
    expect(await Promise.all(ports.map(accepts))).toEqual([false, false]);
    for (const pid of newPids) expect(() => process.kill(pid, 0)).toThrow();
  }, 90_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import type { History } from './history.js';

/**
 * The system under test: one private `redis-server` and three hub instances
 * (`test/fixtures/hub-instance.mjs`, running the built library) with recovery on, each a child
 * process with an IPC channel for publishing, each reached by clients through a `TcpProxy`
 * and reaching Redis through another, so that every network path can fail.
 */

const fixture = fileURLToPath(new URL('../fixtures/hub-instance.mjs', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Settings of the instances (the fixture's environment). */
export interface InstanceSettings {
  historySize: number;
  historyTtlMs: number;
  sessionTtlMs: number;
  heartbeatMs: number;
  instanceTimeoutMs: number;
  commandTimeoutMs: number;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  authorizeJoinDelayMs: number;
  /** `slowConsumer` per instance (recovering clients must get 1013 whatever it says). */
  slowConsumer: ('drop' | 'close')[];
}

export const DEFAULT_SETTINGS: InstanceSettings = {
  historySize: 5_000,
  historyTtlMs: 120_000,
  sessionTtlMs: 15_000,
  heartbeatMs: 500,
  instanceTimeoutMs: 2_000,
  commandTimeoutMs: 1_000,
  pingIntervalMs: 1_500,
  maxBufferedBytes: 256 * 1024,
  authorizeJoinDelayMs: 40,
  slowConsumer: ['close', 'close', 'drop'],
};

type Rpc = { op: string; [k: string]: unknown };
type RpcReply = { ret?: unknown; error?: string; lost?: boolean };

export class Instance {
  child: ChildProcess | undefined;
  /** The current process's instance id (a new one after each restart). */
  id = '';
  /** Accepting work (spawned, READY, not stopped or frozen by the test). */
  up = false;
  frozen = false;
  private seq = 0;
  private pending = new Map<number, (r: RpcReply) => void>();
  private expectedExit = false;

  constructor(
    readonly index: number,
    /** The port it listens on, the same across restarts (its proxy points there). */
    readonly port: number,
    readonly proxy: TcpProxy,
    readonly gate: TcpProxy,
    private readonly env: Record<string, string>,
    private readonly history: History,
    private readonly now: () => number,
  ) {}

  /** ws URL through the proxy. */
  get url(): string {
    return `ws://127.0.0.1:${this.proxy.port}/ws`;
  }

  /** Set by `Cluster.close()`: a fault still running must not start it again. */
  closed = false;

  async start(): Promise<void> {
    if (this.closed) throw new Error(`instance ${this.index}: the cluster is closed`);
    const child = spawn(process.execPath, [fixture], {
      cwd: root,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.expectedExit = false;
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        const line = err.slice(0, nl);
        err = err.slice(nl + 1);
        if (line.trim()) this.history.logs.push({ t: this.now(), instance: this.index, line });
      }
    });
    // Warnings too (Nest logs them on stdout): why a resume failed, a stream broke, ...
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        if (/\bWARN\b/.test(line))
          this.history.logs.push({ t: this.now(), instance: this.index, line });
      }
    });
    child.on('message', (m: { seq: number; ret?: unknown; error?: string }) => {
      const done = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      done?.({ ret: m.ret, error: m.error });
    });
    child.once('exit', (code, signal) => {
      this.up = false;
      this.frozen = false;
      if (this.child === child) this.child = undefined;
      this.history.instances.push({
        t: this.now(),
        instance: this.index,
        what: 'exit',
        code,
        signal,
        unexpected: !this.expectedExit,
      });
      for (const done of this.pending.values()) done({ lost: true });
      this.pending.clear();
    });
    child.on('error', () => undefined);
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        this.expectedExit = true;
        child.kill('SIGKILL');
        reject(new Error(`instance ${this.index} not ready in 20 s`));
      }, 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+) (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[2]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`instance ${this.index} exited (${code}) before READY`));
      });
    });
    this.id = id;
    this.up = true;
    this.history.instances.push({ t: this.now(), instance: this.index, what: 'ready', id });
  }

  /** Sends a command to the instance; resolves with `lost` when it exits first. */
  rpc(msg: Rpc): Promise<RpcReply> {
    const child = this.child;
    if (!child || !child.connected) return Promise.resolve({ lost: true });
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      child.send({ ...msg, seq }, (err) => {
        if (err && this.pending.delete(seq)) resolve({ lost: true });
      });
    });
  }

  /** Stops the process with `signal` and waits for it to exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.up = false;
    this.expectedExit = true;
    if (this.frozen) child.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }

  freeze(): void {
    if (!this.child || this.frozen) return;
    this.frozen = true;
    this.up = false;
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    if (!this.child || !this.frozen) return;
    this.frozen = false;
    this.child.kill('SIGCONT');
    this.up = true;
  }
}

export class Cluster {
  private constructor(
    readonly redis: RedisServer,
    readonly admin: Redis,
    readonly keyPrefix: string,
    readonly instances: Instance[],
    readonly settings: InstanceSettings,
  ) {}

  static async start(
    history: History,
    now: () => number,
    settings: InstanceSettings = DEFAULT_SETTINGS,
    count = 3,
  ): Promise<Cluster> {
    const redis = await startRedisServer();
    const admin = new Redis(redis.port, '127.0.0.1', {
      maxRetriesPerRequest: 2,
      retryStrategy: () => 100,
      // A command cut by a Redis restart must not run again on the new server (SHUTDOWN!).
      autoResendUnfulfilledCommands: false,
    });
    admin.on('error', () => undefined);
    const keyPrefix = `faults-${randomBytes(3).toString('hex')}`;
    const env = {
      KEY_PREFIX: keyPrefix,
      HEARTBEAT_MS: String(settings.heartbeatMs),
      TIMEOUT_MS: String(settings.instanceTimeoutMs),
      COMMAND_TIMEOUT_MS: String(settings.commandTimeoutMs),
      RECOVERY: 'on',
      HISTORY_SIZE: String(settings.historySize),
      HISTORY_TTL_MS: String(settings.historyTtlMs),
      SESSION_TTL_MS: String(settings.sessionTtlMs),
      PING_INTERVAL_MS: String(settings.pingIntervalMs),
      // instance-term drains (1012 in batches) within 1 s, well inside stop()'s 8 s
      DRAIN_MS: '1000',
      MAX_BUFFERED_BYTES: String(settings.maxBufferedBytes),
      AUTHORIZE_JOIN_DELAY_MS: String(settings.authorizeJoinDelayMs),
    };
    const instances: Instance[] = [];
    const cluster = new Cluster(redis, admin, keyPrefix, instances, settings);
    try {
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        const proxy = await startTcpProxy(port);
        const gate = await startTcpProxy(redis.port);
        const slowConsumer = settings.slowConsumer[i % settings.slowConsumer.length];
        instances.push(
          new Instance(
            i,
            port,
            proxy,
            gate,
            { ...env, REDIS_URL: gate.url, SLOW_CONSUMER: slowConsumer },
            history,
            now,
          ),
        );
      }
      await Promise.all(instances.map((inst) => inst.start()));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  private closed = false;

  /** Runs a Redis command on the admin connection; undefined when Redis did not answer. */
  async command(...args: (string | number)[]): Promise<unknown> {
    if (this.closed) return undefined;
    try {
      return await this.admin.call(String(args[0]), ...args.slice(1).map(String));
    } catch {
      return undefined;
    }
  }

  /** A command on a connection of its own that never reconnects nor retries. */
  private async once(...args: string[]): Promise<void> {
    if (this.closed) return;
    const c = new Redis(this.redis.port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: true,
    });
    c.on('error', () => undefined);
    try {
      await c.call(args[0], ...args.slice(1));
    } catch {
      // SHUTDOWN answers by closing the connection.
    } finally {
      c.disconnect();
    }
  }

  /** Ids of Redis connections whose name is `name` (`CLIENT LIST`). */
  async clientIds(name: string): Promise<string[]> {
    const list = (await this.command('CLIENT', 'LIST')) as string | undefined;
    if (!list) return [];
    return list
      .split('\n')
      .filter((l) => l.includes(` name=${name} `))
      .map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined);
  }

  /** Kills the named connections; how many. */
  async killConnections(name: string): Promise<number> {
    let n = 0;
    for (const id of await this.clientIds(name)) {
      if ((await this.command('CLIENT', 'KILL', 'ID', id)) === 1) n++;
    }
    return n;
  }

  /** The keys of a stream (README, "Recovery on Redis"). */
  streamKeys(stream: string): { meta: string; history: string } {
    const tag = `{${this.keyPrefix}:${stream}}`;
    return { meta: `${tag}:m`, history: `${tag}:h` };
  }

  /**
   * What a promoted replica that lacks the newest writes looks like for one stream: its offset
   * rolled back by `n` and its newest `n` history entries gone, the epoch kept. Returns the
   * offsets before and after, or undefined when the stream has no meta hash.
   */
  async rollBack(stream: string, n: number): Promise<[number, number] | undefined> {
    const { meta, history } = this.streamKeys(stream);
    const script = `
      local s = tonumber(redis.call('HGET', KEYS[1], 's'))
      if not s then return nil end
      local to = s - tonumber(ARGV[1])
      if to < 0 then to = 0 end
      local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', tonumber(ARGV[1]) + 1)
      for _, e in ipairs(newest) do
        if tonumber(string.match(e[1], '^(%d+)')) > to then redis.call('XDEL', KEYS[2], e[1]) end
      end
      redis.call('HSET', KEYS[1], 's', to, 'r', 'promoted-replica')
      return {s, to}`;
    const r = (await this.command('EVAL', script, 2, meta, history, n)) as
      [number, number] | undefined | null;
    return r ? [Number(r[0]), Number(r[1])] : undefined;
  }

  /**
   * Restarts Redis on the same port: `empty` (data gone), `kept` (SHUTDOWN SAVE: everything
   * kept, connections dropped) or `stale` (an RDB saved `staleMs` before the shutdown: the
   * writes of the last `staleMs` are lost, epochs and offsets roll back).
   */
  async restartRedis(mode: 'empty' | 'kept' | 'stale', downMs: number, staleMs = 0): Promise<void> {
    if (mode === 'empty') {
      // The helper's stop() removes the data directory: nothing is loaded on restart.
      await this.redis.stop('SIGKILL');
    } else {
      if (mode === 'stale') {
        await this.command('SAVE');
        await sleep(staleMs);
      }
      // The connection closes once the server has saved (SAVE) and exits; restart() below
      // waits for the process to be gone before starting the new one in the same directory.
      await this.once('SHUTDOWN', mode === 'kept' ? 'SAVE' : 'NOSAVE');
    }
    await sleep(downMs);
    // A fault still running when the schedule ended must not start a server nobody stops.
    if (!this.closed) await this.redis.restart();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const i of this.instances) i.closed = true;
    await Promise.all(this.instances.map((i) => i.stop('SIGKILL')));
    await Promise.all(this.instances.map((i) => i.proxy.close()));
    await Promise.all(this.instances.map((i) => i.gate.close()));
    this.admin.disconnect();
    if (this.redis.running) this.redis.signal('SIGCONT');
    await this.redis.stop('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

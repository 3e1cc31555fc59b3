import { sleep, type Cluster, type Instance } from './cluster.js';
import type { FaultKind, FaultRecord, History } from './history.js';
import type { Prng } from './prng.js';
import type { RawClient } from './raw-client.js';
import type { RealClient } from './real-client.js';

/**
 * The faults: each picks its target at run time (a random online client, a live instance, a
 * stream with traffic), records what it did in the history, and undoes itself (thaw, restart)
 * after a random duration. A fault that finds no target is recorded as skipped.
 */
export interface FaultContext {
  cluster: Cluster;
  history: History;
  now(): number;
  raw: RawClient[];
  real: RealClient[];
  rooms: readonly string[];
  prng: Prng;
  /** Publishes `count` messages of `padBytes` to one user at once. */
  burst(userId: string, count: number, padBytes: number): void;
}

/** What is being faulted right now, so that faults do not trip over each other. */
export class FaultState {
  redisBusy = false;
  readonly instanceBusy = new Set<number>();
  readonly running = new Set<Promise<void>>();
}

type OnlineClient =
  | { kind: 'raw'; c: RawClient; port: number; conn: number; instance: number }
  | { kind: 'real'; c: RealClient; port: number; conn: number; instance: number };

function onlineClients(ctx: FaultContext): OnlineClient[] {
  const out: OnlineClient[] = [];
  for (const c of ctx.raw) {
    const cur = c.current;
    if (c.online && cur?.localPort !== undefined) {
      out.push({
        kind: 'raw',
        c,
        port: cur.localPort,
        conn: cur.rec.id,
        instance: cur.rec.instance,
      });
    }
  }
  for (const c of ctx.real) {
    const s = c.socket;
    if (c.online && s?.localPort !== undefined) {
      out.push({ kind: 'real', c, port: s.localPort, conn: s.rec.id, instance: s.rec.instance });
    }
  }
  return out;
}

/** Marks the connections on `instance` as ended by a fault (their close is the test's doing). */
function markInstanceConnections(ctx: FaultContext, instance: number): void {
  for (const c of ctx.raw) {
    for (const conn of c.connections)
      if (conn.rec.instance === instance) c.faulted.add(conn.rec.id);
  }
  for (const c of ctx.real) {
    if (c.socket && c.socket.rec.instance === instance) c.faulted.add(c.socket.rec.id);
  }
}

export function applyFault(kind: FaultKind, ctx: FaultContext, state: FaultState): void {
  const rec: FaultRecord = { kind, t: ctx.now() };
  ctx.history.faults.push(rec);
  const p = ctx.prng;
  const done = (detail?: string) => {
    rec.tEnd = ctx.now();
    if (detail) rec.detail = detail;
  };
  const skip = (why: string) => {
    rec.skipped = why;
  };
  const instances = ctx.cluster.instances;
  /** A live instance nobody else is faulting; with `spare`, only if another stays up. */
  const pickInstance = (spare: boolean): Instance | undefined => {
    const up = instances.filter((i) => i.up && !state.instanceBusy.has(i.index));
    if (spare && instances.filter((i) => i.up).length < 2) return undefined;
    return up.length ? p.pick(up) : undefined;
  };
  const run = (body: () => Promise<void>) => {
    const task = body().catch((err) => {
      rec.detail = `${rec.detail ?? ''} failed: ${String(err?.message ?? err)}`.trim();
    });
    state.running.add(task);
    void task.finally(() => state.running.delete(task));
  };
  const withInstance = (inst: Instance, body: () => Promise<void>) => {
    rec.instance = inst.index;
    state.instanceBusy.add(inst.index);
    run(() => body().finally(() => state.instanceBusy.delete(inst.index)));
  };
  const withRedis = (body: () => Promise<void>) => {
    if (state.redisBusy) return skip('another Redis fault is running');
    state.redisBusy = true;
    run(() => body().finally(() => (state.redisBusy = false)));
  };
  const restartLater = async (inst: Instance, downMs: number) => {
    await sleep(downMs);
    await inst.start();
  };

  switch (kind) {
    case 'client-cut':
    case 'client-freeze-cut':
    case 'slow-consumer': {
      const all = onlineClients(ctx);
      if (!all.length) return skip('no client online');
      const target = p.pick(all);
      rec.client = target.c.record.index;
      rec.connection = target.conn;
      rec.instance = target.instance;
      const proxy = instances[target.instance].proxy;
      if (kind === 'client-cut') {
        target.c.faulted.add(target.conn);
        proxy.cut(target.port);
        return done();
      }
      if (kind === 'client-freeze-cut') {
        const ms = p.int(1_000, 5_000);
        target.c.faulted.add(target.conn);
        proxy.pause(target.port);
        run(async () => {
          await sleep(ms);
          proxy.cut(target.port);
          done(`frozen ${ms} ms, then cut`);
        });
        return;
      }
      const ms = p.int(3_000, 8_000);
      if (target.kind === 'raw') {
        target.c.current?.pause(ms);
      } else {
        const s = target.c.socket;
        s?.pause();
        setTimeout(() => s?.resume(), ms).unref();
      }
      // A backlog larger than the kernel's socket buffers (several MB on loopback), so that
      // the instance's own buffer passes maxBufferedBytes while the client does not read.
      const count = p.int(60, 120);
      ctx.burst(target.c.record.userId, count, 64 * 1024);
      run(async () => {
        await sleep(ms);
        done(`stopped reading for ${ms} ms; ${count} messages of 64 KiB to its user meanwhile`);
      });
      return;
    }
    case 'instance-partition': {
      const inst = pickInstance(false);
      if (!inst) return skip('no instance');
      markInstanceConnections(ctx, inst.index);
      const n = inst.proxy.cut();
      rec.instance = inst.index;
      return done(`${n} connections cut`);
    }
    case 'network-freeze': {
      const inst = pickInstance(false);
      if (!inst) return skip('no instance');
      const ms = p.int(1_000, 5_000);
      withInstance(inst, async () => {
        const n = inst.proxy.pause();
        await sleep(ms);
        inst.proxy.resume();
        done(`${n} connections (and new ones) stalled ${ms} ms, then flowing again`);
      });
      return;
    }
    case 'instance-kill':
    case 'instance-term': {
      const inst = pickInstance(true);
      if (!inst) return skip('fewer than two instances up');
      const downMs = p.int(300, 3_000);
      withInstance(inst, async () => {
        if (kind === 'instance-kill') markInstanceConnections(ctx, inst.index);
        await inst.stop(kind === 'instance-kill' ? 'SIGKILL' : 'SIGTERM');
        await restartLater(inst, downMs);
        done(`down ${downMs} ms`);
      });
      return;
    }
    case 'instance-freeze': {
      const inst = pickInstance(true);
      if (!inst) return skip('fewer than two instances up');
      const ms = p.int(1_000, 4_000);
      withInstance(inst, async () => {
        inst.freeze();
        await sleep(ms);
        inst.thaw();
        done(`SIGSTOP for ${ms} ms`);
      });
      return;
    }
    case 'subscriber-kill-all':
      return run(async () => {
        const n = await ctx.cluster.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
        done(`${String(n)} subscriber connections killed`);
      });
    case 'subscriber-kill-one':
    case 'publisher-kill': {
      const inst = pickInstance(false);
      if (!inst) return skip('no instance');
      rec.instance = inst.index;
      const name = `ws-hub-${kind === 'publisher-kill' ? 'pub' : 'sub'}-${inst.id}`;
      return run(async () => {
        const n = await ctx.cluster.killConnections(name);
        done(`${n} connection(s) named ${name} killed`);
      });
    }
    case 'instance-redis-cut': {
      const inst = pickInstance(false);
      if (!inst) return skip('no instance');
      const ms = p.int(300, 3_000);
      withInstance(inst, async () => {
        inst.gate.refuse(true);
        inst.gate.cut();
        await sleep(ms);
        inst.gate.refuse(false);
        done(`Redis unreachable for ${ms} ms`);
      });
      return;
    }
    case 'redis-freeze': {
      const ms = p.int(300, 2_500);
      return withRedis(async () => {
        ctx.cluster.redis.signal('SIGSTOP');
        await sleep(ms);
        ctx.cluster.redis.signal('SIGCONT');
        done(`SIGSTOP for ${ms} ms`);
      });
    }
    case 'redis-restart-empty':
    case 'redis-restart-kept':
    case 'redis-restart-stale': {
      const downMs = p.int(200, 1_500);
      const staleMs = p.int(200, 1_500);
      const mode =
        kind === 'redis-restart-empty' ? 'empty' : kind === 'redis-restart-kept' ? 'kept' : 'stale';
      return withRedis(async () => {
        await ctx.cluster.restartRedis(mode, downMs, staleMs);
        done(
          `down ${downMs} ms${mode === 'stale' ? `, RDB ${staleMs} ms older than the shutdown` : ''}`,
        );
      });
    }
    case 'failover-rollback': {
      const candidates = ['all', ...ctx.rooms.map((r) => `room:${r}`)];
      for (const c of ctx.raw) {
        if (c.online && c.clientId)
          candidates.push(`client:${c.clientId}`, `user:${c.record.userId}`);
      }
      const stream = p.pick(candidates);
      const n = p.int(1, 5);
      rec.stream = stream;
      return withRedis(async () => {
        const r = await ctx.cluster.rollBack(stream, n);
        if (!r) {
          rec.skipped = `${stream} has no meta hash`;
          return;
        }
        done(`${stream} offset ${r[0]} -> ${r[1]} (epoch kept, newest entries deleted)`);
      });
    }
    case 'takeover-same':
    case 'takeover-other': {
      const cands = ctx.raw.filter((c) => c.online && c.session !== undefined);
      if (!cands.length) return skip('no raw client online');
      const c = p.pick(cands);
      const from = c.current!.rec.instance;
      const others = instances.filter((i) => i.up && i.index !== from).map((i) => i.index);
      const to = kind === 'takeover-same' ? from : others.length ? p.pick(others) : undefined;
      if (to === undefined) return skip('no other instance up');
      rec.client = c.record.index;
      rec.connection = c.current!.rec.id;
      rec.instance = to;
      const conn = c.takeover(to);
      return done(
        conn
          ? `conn ${rec.connection} (inst ${from}) -> conn ${conn.rec.id} (inst ${to})`
          : 'not possible',
      );
    }
    case 'join-leave-race': {
      const all = [...ctx.raw, ...ctx.real].filter((c) => c.online);
      if (!all.length) return skip('no client online');
      const c = p.pick(all);
      const want = 'wantRooms' in c ? c.wantRooms : c.hub.rooms;
      const free = ctx.rooms.filter((r) => !want.has(r));
      if (!free.length) return skip('client in every room');
      const room = p.pick(free);
      rec.client = c.record.index;
      rec.stream = `room:${room}`;
      c.race(room);
      return done(`join + leave ${room}`);
    }
    case 'clock-step': {
      const inst = pickInstance(false);
      if (!inst) return skip('no instance');
      const stepMs = p.pick([30_000, 3_600_000, 86_400_000, -3_600_000, -30_000]);
      rec.instance = inst.index;
      return run(async () => {
        const r = await inst.rpc({ op: 'clock', stepMs });
        done(`Date.now stepped ${stepMs} ms (total ${String(r.ret)})`);
      });
    }
  }
}

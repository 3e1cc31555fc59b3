import { performance } from 'node:perf_hooks';
import { Cluster, DEFAULT_SETTINGS, sleep, type InstanceSettings } from './cluster.js';
import { applyFault, FaultState, type FaultContext } from './faults.js';
import { FAULT_KINDS, type FaultKind, type History, type ScheduleConfig } from './history.js';
import { Prng } from './prng.js';
import { Publisher } from './publisher.js';
import { RawClient, type ClientEnv } from './raw-client.js';
import { RealClient } from './real-client.js';

/**
 * Runs one schedule: starts Redis and three instances, connects the clients, publishes at a
 * steady rate, applies the faults at their planned times, then lets everything heal, has every
 * raw client resume once more, and returns the history (the checker judges it).
 */

export interface ScheduleOptions {
  seed: number;
  /** Length of the faulty part, s (a quiet tail of about 8 s follows). */
  seconds: number;
  rawClients?: number;
  realClients?: number;
  publishRatePerS?: number;
  /** Fault kinds to draw from (all by default). */
  faults?: readonly FaultKind[];
  /**
   * 'each-once': every kind in `faults` once, in a seeded order, spread over the schedule (the
   * short schedule of `npm test`); 'random': kinds drawn at random every `faultEveryMs`.
   */
  mode?: 'each-once' | 'random';
  /** Time between faults in 'random' mode, [min, max] ms. */
  faultEveryMs?: [number, number];
  settings?: Partial<InstanceSettings>;
  /** Progress lines (setup, faults), for the long runner. */
  log?: (line: string) => void;
}

/** Relative frequency of each fault kind in 'random' mode. */
export const FAULT_WEIGHTS: Record<FaultKind, number> = {
  'client-cut': 10,
  'client-freeze-cut': 6,
  'slow-consumer': 6,
  'instance-partition': 4,
  'network-freeze': 4,
  'instance-kill': 5,
  'instance-term': 4,
  'instance-freeze': 4,
  'subscriber-kill-all': 5,
  'subscriber-kill-one': 6,
  'publisher-kill': 5,
  'instance-redis-cut': 5,
  'redis-freeze': 4,
  'redis-restart-empty': 2,
  'redis-restart-kept': 2,
  'redis-restart-stale': 2,
  'failover-rollback': 5,
  'takeover-same': 5,
  'takeover-other': 5,
  'join-leave-race': 8,
  'clock-step': 3,
};

export const ROOMS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
export const SECRET_ROOM = 'dm:alice:carol';

/** The planned fault times (ms after the start) and kinds. */
export function planFaults(
  prng: Prng,
  seconds: number,
  kinds: readonly FaultKind[],
  mode: 'each-once' | 'random',
  every: [number, number],
): { t: number; kind: FaultKind }[] {
  const startMs = 2_000;
  const endMs = seconds * 1000 - 1_000;
  if (kinds.length === 0) return [];
  if (mode === 'each-once') {
    const order = prng.sample(kinds, kinds.length);
    const step = (endMs - startMs) / Math.max(order.length, 1);
    return order.map((kind, i) => ({
      t: Math.round(startMs + i * step + prng.next() * step * 0.3),
      kind,
    }));
  }
  const weights = Object.fromEntries(kinds.map((k) => [k, FAULT_WEIGHTS[k]])) as Record<
    FaultKind,
    number
  >;
  const out: { t: number; kind: FaultKind }[] = [];
  for (
    let t = startMs + prng.int(every[0], every[1]);
    t < endMs;
    t += prng.int(every[0], every[1])
  ) {
    out.push({ t, kind: prng.weighted(weights) });
  }
  return out;
}

export async function runSchedule(options: ScheduleOptions): Promise<History> {
  const log = options.log ?? (() => undefined);
  const kinds = options.faults ?? FAULT_KINDS;
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const config: ScheduleConfig = {
    seed: options.seed,
    seconds: options.seconds,
    rawClients: options.rawClients ?? 24,
    realClients: options.realClients ?? 4,
    rooms: ROOMS,
    publishRatePerS: options.publishRatePerS ?? 100,
    faults: [...kinds],
    sessionTtlMs: settings.sessionTtlMs,
    historySize: settings.historySize,
  };
  const history: History = {
    config,
    tEnd: 0,
    clients: [],
    publications: [],
    faults: [],
    instances: [],
    logs: [],
  };
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const root = new Prng(options.seed);
  // Independent streams of randomness, so that one actor's draws do not shift another's.
  const planPrng = root.fork();
  const faultPrng = root.fork();
  const pubPrng = root.fork();
  const clientPrng = root.fork();
  const plan = planFaults(
    planPrng,
    options.seconds,
    kinds,
    options.mode ?? 'random',
    options.faultEveryMs ?? [1_000, 3_000],
  );

  const cluster = await Cluster.start(history, now, settings);
  log(`seed ${options.seed}: cluster up (${cluster.instances.map((i) => i.id).join(', ')})`);
  let ended = false;
  let connIds = 0;
  const env: ClientEnv = {
    now,
    nextConnectionId: () => ++connIds,
    urls: cluster.instances.map((i) => i.url),
    ended: () => ended,
  };
  const raw: RawClient[] = [];
  const real: RealClient[] = [];
  const state = new FaultState();
  let publisher: Publisher | undefined;
  try {
    for (let i = 0; i < config.rawClients; i++) raw.push(new RawClient(i, env, clientPrng.fork()));
    for (let i = 0; i < config.realClients; i++) {
      real.push(new RealClient(config.rawClients + i, env, clientPrng.fork()));
    }
    history.clients = [...raw.map((c) => c.record), ...real.map((c) => c.record)];
    const initial = clientPrng.fork();
    for (const c of raw) {
      for (const room of initial.sample(ROOMS, initial.int(1, 3))) c.wantRooms.add(room);
      c.connect();
    }
    for (const c of real) for (const room of initial.sample(ROOMS, initial.int(1, 3))) c.join(room);
    const allOnline = async (ms: number) => {
      const until = now() + ms;
      while (now() < until && ![...raw, ...real].every((c) => c.online)) await sleep(50);
    };
    await allOnline(10_000);
    log(`  ${(now() / 1000).toFixed(1)}s clients online`);
    await sleep(500);

    const clientIds = new Set<string>();
    publisher = new Publisher(
      cluster,
      pubPrng,
      history,
      {
        rooms: ROOMS,
        secretRoom: SECRET_ROOM,
        users: () => history.clients.map((c) => c.userId),
        clientIds: () => {
          for (const c of history.clients) {
            for (const conn of c.connections)
              if (conn.welcome) clientIds.add(conn.welcome.clientId);
          }
          return [...clientIds];
        },
      },
      config.publishRatePerS,
      now,
    );
    const pub = publisher;
    const ctx: FaultContext = {
      cluster,
      history,
      now,
      raw,
      real,
      rooms: ROOMS,
      prng: faultPrng,
      burst: (userId, count, padBytes) => pub.burst(userId, count, padBytes),
    };
    const start = now();
    publisher.start();

    // Each client acts on its own clock: joins, leaves, races, reconnects, goes away a while.
    const actors = [...raw, ...real].map((c) => {
      const prng = clientPrng.fork();
      return { c, prng, next: start + prng.int(1_000, 4_000) };
    });
    const act = (a: (typeof actors)[number]) => {
      const { c, prng } = a;
      a.next = now() + prng.int(2_000, 6_000);
      if (!c.online) return;
      if (c instanceof RawClient) {
        const what = prng.weighted({ join: 30, leave: 20, race: 6, hop: 15, away: 15, idle: 14 });
        const free = ROOMS.filter((r) => !c.wantRooms.has(r));
        const mine = [...c.wantRooms];
        if (what === 'join' && free.length) c.join(prng.pick(free));
        else if (what === 'leave' && mine.length) c.leave(prng.pick(mine));
        else if (what === 'race' && free.length) c.race(prng.pick(free));
        else if (what === 'hop') c.hop();
        else if (what === 'away') {
          // Now and then longer than the session TTL: the resume must then say so.
          const ms = prng.chance(0.1)
            ? settings.sessionTtlMs + prng.int(1_000, 4_000)
            : prng.int(200, 4_000);
          c.goOffline(ms, prng.chance(0.5));
        }
      } else {
        const what = prng.weighted({ join: 35, leave: 25, race: 8, idle: 32 });
        const rooms = c.hub.rooms;
        const free = ROOMS.filter((r) => !rooms.has(r));
        if (what === 'join' && free.length) c.join(prng.pick(free));
        else if (what === 'leave' && rooms.size) c.leave(prng.pick([...rooms]));
        else if (what === 'race' && free.length) c.race(prng.pick(free));
      }
    };

    let next = 0;
    const endAt = start + options.seconds * 1000;
    while (now() < endAt) {
      const t = now() - start;
      while (next < plan.length && plan[next].t <= t) {
        const { kind } = plan[next++];
        applyFault(kind, ctx, state);
        const rec = history.faults[history.faults.length - 1];
        log(`  ${(t / 1000).toFixed(1)}s ${kind}${rec.skipped ? ` skipped (${rec.skipped})` : ''}`);
      }
      for (const a of actors) if (now() >= a.next) act(a);
      await sleep(50);
    }

    // Heal: wait for running faults (they undo themselves), restart what is down.
    log(`  ${(now() / 1000).toFixed(1)}s healing`);
    await Promise.race([Promise.all(state.running), sleep(15_000)]);
    for (const inst of cluster.instances) {
      inst.proxy.resume();
      if (inst.frozen) inst.thaw();
      inst.gate.refuse(false);
      if (!inst.child) await inst.start().catch(() => undefined);
    }
    if (!cluster.redis.running) await cluster.redis.restart().catch(() => undefined);
    for (const c of raw) c.comeBack();
    await allOnline(8_000);
    log(`  ${(now() / 1000).toFixed(1)}s healed`);
    // Damage a fault left in a quiet stream shows at its next message: make it show now.
    await sleep(1_000);
    publisher.sweep();
    await sleep(2_000);
    // Every raw client resumes once more: its welcome must be truthful after all that, and
    // from here on nothing may break (the checker's `unsettled`).
    const quietFrom = now();
    for (const c of raw) c.hop();
    await allOnline(6_000);
    log(`  ${(now() / 1000).toFixed(1)}s resumed`);
    await sleep(2_000);
    await publisher.stop();
    await sleep(1_000);
    history.quiet = { from: quietFrom, to: now() };
  } finally {
    ended = true;
    await publisher?.stop();
    history.tEnd = now();
    for (const c of raw) c.dispose();
    for (const c of real) c.dispose();
    await cluster.close();
    // Faults still running (they only find closed things now) end before the next schedule.
    await Promise.race([Promise.all(state.running), sleep(10_000)]);
    log(`  ${(now() / 1000).toFixed(1)}s closed`);
  }
  return history;
}

import type { Cluster } from './cluster.js';
import type { History, Publication, PublishKind } from './history.js';
import type { Prng } from './prng.js';

/**
 * Publishes at a steady rate through the instances (each message through a random live one):
 * broadcasts to everyone, to one room, to several rooms (sometimes with a room nobody is in,
 * to see whether frames reveal it), `sendToUser` and `send` to a client id. Every message has
 * a unique id (`data.m`); what was published where and when, and what the call returned, goes
 * into the history.
 */
export interface PublisherTargets {
  /** Rooms the clients use. */
  rooms: readonly string[];
  /** A room no client ever joins (multi-room broadcasts include it now and then). */
  secretRoom: string;
  /** User ids of the clients. */
  users(): string[];
  /** Client ids seen in welcomes (current and older ones). */
  clientIds(): string[];
}

const EVENT: Record<PublishKind, string> = { all: 'b', rooms: 'r', user: 'u', client: 'd' };

export class Publisher {
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;
  private startedAt = 0;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly cluster: Cluster,
    private readonly prng: Prng,
    private readonly history: History,
    private readonly targets: PublisherTargets,
    private readonly ratePerS: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.startedAt = this.now();
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** Stops publishing and waits (a few seconds at most) for the answers in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const deadline = new Promise((r) => setTimeout(r, 3_000).unref());
    await Promise.race([Promise.all(this.inFlight), deadline]);
  }

  private tick(): void {
    const due = Math.floor(((this.now() - this.startedAt) * this.ratePerS) / 1000);
    // After a stall (the process was busy), catch up by at most 20 messages.
    if (due - this.sent > 20) this.sent = due - 20;
    while (this.sent < due) {
      this.sent++;
      this.publishOne();
    }
  }

  /**
   * One message to every stream the clients use (everyone, each room, each user, each client
   * id seen), so that damage a fault left in a quiet stream (a rolled-back offset, a lost
   * history) shows now rather than during the quiet tail.
   */
  sweep(): void {
    this.publishOne({ kind: 'all' });
    for (const room of this.targets.rooms) this.publishOne({ kind: 'rooms', rooms: [room] });
    for (const userId of this.targets.users()) this.publishOne({ kind: 'user', userId });
    for (const clientId of this.targets.clientIds()) this.publishOne({ kind: 'client', clientId });
  }

  /**
   * `count` messages of `padBytes` each to one user, at once (a slow consumer's backlog grows
   * past what the kernel buffers hold).
   */
  burst(userId: string, count: number, padBytes: number): void {
    for (let i = 0; i < count; i++) this.publishOne({ kind: 'user', userId, pad: padBytes });
  }

  /** One message: random, or of the given kind and target. */
  publishOne(given?: {
    kind: PublishKind;
    rooms?: string[];
    userId?: string;
    clientId?: string;
    pad?: number;
  }): void {
    const up = this.cluster.instances.filter((i) => i.up);
    if (up.length === 0) return;
    const p = this.prng;
    const inst = p.pick(up);
    const kind =
      given?.kind ?? p.weighted<PublishKind>({ all: 15, rooms: 45, user: 20, client: 20 });
    const m = `m${this.history.publications.length + 1}`;
    const pad = given ? (given.pad ?? 0) : p.chance(0.1) ? p.int(1_000, 4_000) : 0;
    const data = pad ? { m, pad: 'x'.repeat(pad) } : { m };
    const pub: Publication = { m, kind, instance: inst.index, tSent: this.now(), pad };
    let msg: { op: string; [k: string]: unknown };
    switch (kind) {
      case 'all':
        msg = { op: 'broadcast', event: EVENT.all, data };
        break;
      case 'rooms': {
        const n = p.chance(0.7) ? 1 : p.int(2, 3);
        const rooms = given?.rooms ?? p.sample(this.targets.rooms, n);
        if (!given && n > 1 && p.chance(0.3)) rooms.push(this.targets.secretRoom);
        pub.rooms = rooms;
        msg = { op: 'broadcast', event: EVENT.rooms, data, rooms };
        break;
      }
      case 'user': {
        const users = this.targets.users();
        const userId =
          given?.userId ??
          (p.chance(0.1) || users.length === 0 ? `ghost${p.int(0, 9)}` : p.pick(users));
        pub.userId = userId;
        msg = { op: 'sendToUser', event: EVENT.user, data, userId };
        break;
      }
      case 'client': {
        const ids = this.targets.clientIds();
        if (ids.length === 0 && !given?.clientId) return;
        const clientId = given?.clientId ?? p.pick(ids);
        pub.clientId = clientId;
        msg = { op: 'send', event: EVENT.client, data, clientId };
        break;
      }
    }
    this.history.publications.push(pub);
    const done = inst.rpc(msg).then((r) => {
      if (r.lost) return;
      pub.tAck = this.now();
      if (r.error !== undefined) pub.error = r.error;
      else pub.ret = r.ret as number | boolean;
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}

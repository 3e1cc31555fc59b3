import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { instanceOfClientId } from '../protocol/client-id.js';

/** Channels subscribed to in one SUBSCRIBE command when (re)subscribing everything. */
export const SUBSCRIBE_BATCH = 500;

/**
 * The channel names of one key prefix (the README's "Scaling out with Redis" explains them).
 *
 * With recovery on (`streams`), every channel is a stream's: `{<prefix>:<stream>}` (`{hub:all}`,
 * `{hub:room:lobby}`, `{hub:user:u1}`, `{hub:client:<id>}`), a Redis Cluster hash tag that the
 * stream's keys (`<channel>:m`, `<channel>:h`, `<channel>:s`, see `StreamKeys`) share, so a
 * stream's keys and its channel always live in one slot; `send` and `disconnect` then go to
 * the client's own channel, which follows a resumed session to whichever instance holds it.
 * In cluster mode (`tagged`) every channel, the instance channels too, is hash-tagged so.
 */
export class ChannelNames {
  /** Broadcasts to everyone; every instance subscribes. */
  readonly all: string;

  constructor(
    private readonly prefix: string,
    /** Recovery on: stream channels, hash-tagged. */
    readonly streams = false,
    /** Cluster mode: every channel hash-tagged (each is its own slot group). */
    readonly tagged = false,
  ) {
    this.all = this.stream('all');
  }

  /** The channel of a stream (`all`, `room:<r>`, `user:<u>`, `client:<id>`). */
  stream(name: string): string {
    return this.streams || this.tagged ? `{${this.prefix}:${name}}` : `${this.prefix}:${name}`;
  }

  /** Broadcasts to a room; subscribed while this instance has members in it. */
  room(room: string): string {
    return this.stream('room:' + room);
  }

  /** `sendToUser` / `disconnectUser`; subscribed while the user has a connection here. */
  user(userId: string): string {
    return this.stream('user:' + userId);
  }

  /** `send` / `disconnect` to one client, read by the instance that holds it only. */
  instance(instanceId: string): string {
    return this.tagged
      ? `{${this.prefix}:inst:${instanceId}}`
      : `${this.prefix}:inst:${instanceId}`;
  }

  /** With recovery: `send` / `disconnect` to one client, read where it is connected now. */
  client(clientId: string): string {
    return this.stream('client:' + clientId);
  }

  /** Where a message is published; none for a client id no instance can own. */
  for(message: HubAdapterMessage): string[] {
    switch (message.type) {
      case 'broadcast': {
        const rooms = message.rooms;
        if (!rooms) return [this.all];
        if (rooms.length === 1) return [this.room(rooms[0])];
        return [...new Set(rooms)].map((r) => this.room(r));
      }
      case 'send':
      case 'disconnect': {
        const instanceId = instanceOfClientId(message.clientId);
        if (instanceId === undefined) return [];
        return [this.streams ? this.client(message.clientId) : this.instance(instanceId)];
      }
      case 'user':
      case 'disconnect-user':
      case 'revoke-user':
        return [this.user(message.userId)];
    }
  }
}

/** The side of the subscriber connection the subscription set uses. */
export interface Subscriber {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
}

/**
 * The channels this instance needs: the source of truth for (re)subscribing. Changes are sent
 * at once while the subscriber is ready; otherwise its next `ready` subscribes to all of them
 * (`subscribeAll`), so rooms joined or left while Redis was away come out right.
 */
export class Subscriptions {
  private readonly wanted = new Set<string>();
  private readonly holders = new Map<string, number>();
  private generation = 0;
  private settledGeneration = -1;
  private sub: Subscriber | undefined;

  constructor(private readonly onFailed: (err: unknown) => void) {}

  /** The connection to subscribe on, once it exists. */
  attach(sub: Subscriber): void {
    this.sub = sub;
  }

  get size(): number {
    return this.wanted.size;
  }

  list(): string[] {
    return [...this.wanted];
  }

  has(channel: string): boolean {
    return this.wanted.has(channel);
  }

  want(channel: string): void {
    if (this.wanted.has(channel)) return;
    this.wanted.add(channel);
    const sub = this.sub;
    if (sub?.status === 'ready') sub.subscribe(channel).catch(this.onFailed);
  }

  /**
   * `want` counted per holder: a client channel is wanted while any local connection holds it
   * (a resumed session's id may briefly be here twice).
   */
  hold(channel: string): void {
    const n = this.holders.get(channel) ?? 0;
    this.holders.set(channel, n + 1);
    if (n === 0) this.want(channel);
  }

  /** Undoes one `hold`; the last one unwants the channel. */
  release(channel: string): void {
    const n = this.holders.get(channel);
    if (n === undefined) return;
    if (n > 1) {
      this.holders.set(channel, n - 1);
    } else {
      this.holders.delete(channel);
      this.unwant(channel);
    }
  }

  unwant(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    const sub = this.sub;
    if (sub?.status === 'ready') sub.unsubscribe(channel).catch(this.onFailed);
  }

  /**
   * Subscribes to every wanted channel, `SUBSCRIBE_BATCH` per command; `settled` runs once they
   * are all in effect.
   */
  subscribeAll(settled?: () => void): void {
    const sub = this.sub;
    if (!sub) return;
    const generation = ++this.generation;
    this.settledGeneration = -1;
    const all = [...this.wanted];
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) {
      batches.push(sub.subscribe(...all.slice(i, i + SUBSCRIBE_BATCH)));
    }
    Promise.all(batches).then(() => {
      if (this.generation !== generation) return;
      this.settledGeneration = generation;
      settled?.();
    }, this.onFailed);
  }

  /**
   * Which (re)connection of the subscriber has every wanted channel subscribed: a number that
   * changes at each `subscribeAll`, or -1 while it is down or still resubscribing.
   */
  get settled(): number {
    return this.sub?.status === 'ready' ? this.settledGeneration : -1;
  }

  clear(): void {
    this.wanted.clear();
    this.holders.clear();
  }
}

import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { instanceOfClientId } from '../protocol/client-id.js';

/** Channels subscribed to in one SUBSCRIBE command when (re)subscribing everything. */
export const SUBSCRIBE_BATCH = 500;

/** The channel names of one key prefix (the README's "Scaling out with Redis" explains them). */
export class ChannelNames {
  /** Broadcasts to everyone; every instance subscribes. */
  readonly all: string;

  constructor(private readonly prefix: string) {
    this.all = `${prefix}:all`;
  }

  /** Broadcasts to a room; subscribed while this instance has members in it. */
  room(room: string): string {
    return `${this.prefix}:room:${room}`;
  }

  /** `sendToUser` / `disconnectUser`; subscribed while the user has a connection here. */
  user(userId: string): string {
    return `${this.prefix}:user:${userId}`;
  }

  /** `send` / `disconnect` to one client, read by the instance that holds it only. */
  instance(instanceId: string): string {
    return `${this.prefix}:inst:${instanceId}`;
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
        return instanceId === undefined ? [] : [this.instance(instanceId)];
      }
      case 'user':
      case 'disconnect-user':
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
  private sub: Subscriber | undefined;

  constructor(private readonly onFailed: (err: unknown) => void) {}

  /** The connection to subscribe on, once it exists. */
  attach(sub: Subscriber): void {
    this.sub = sub;
  }

  get size(): number {
    return this.wanted.size;
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

  unwant(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    const sub = this.sub;
    if (sub?.status === 'ready') sub.unsubscribe(channel).catch(this.onFailed);
  }

  /** Subscribes to every wanted channel, `SUBSCRIBE_BATCH` per command. */
  subscribeAll(): void {
    const sub = this.sub;
    if (!sub) return;
    const all = [...this.wanted];
    for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) {
      sub.subscribe(...all.slice(i, i + SUBSCRIBE_BATCH)).catch(this.onFailed);
    }
  }

  clear(): void {
    this.wanted.clear();
  }
}

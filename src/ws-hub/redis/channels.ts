import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { instanceOfClientId } from '../protocol/client-id.js';
import { ALL_STREAM, clientStream, roomStream, userStream } from '../protocol/streams.js';

/**
 * The channel names of one key prefix (the README's "Scaling out with Redis" explains them).
 *
 * With recovery on (`streams`), every channel is a stream's: `{<prefix>:<stream>}` (`{hub:all}`,
 * `{hub:room:lobby}`, `{hub:user:u1}`, `{hub:client:<id>}`), a Redis Cluster hash tag that the
 * stream's keys (`<channel>:m`, `<channel>:h`, `<channel>:s`, see `StreamKeys`) share, so a
 * stream's keys and its channel always live in one slot; `send` and `disconnect` then go to
 * the client's own channel, which follows a resumed session to whichever instance holds it.
 * On a Redis Cluster (`tagged`) every channel, the instance channels too, is hash-tagged so.
 */
export class ChannelNames {
  /** Broadcasts to everyone; every instance subscribes. */
  readonly all: string;

  constructor(
    private readonly prefix: string,
    /** Recovery on: stream channels, hash-tagged. */
    readonly streams = false,
    /** Redis Cluster: every channel hash-tagged (each is its own slot group). */
    readonly tagged = false,
  ) {
    this.all = this.stream(ALL_STREAM);
  }

  /** The channel of a stream (`all`, `room:<r>`, `user:<u>`, `client:<id>`). */
  stream(name: string): string {
    return this.streams || this.tagged ? `{${this.prefix}:${name}}` : `${this.prefix}:${name}`;
  }

  /** Broadcasts to a room; subscribed while this instance has members in it. */
  room(room: string): string {
    return this.stream(roomStream(room));
  }

  /** `sendToUser` / `disconnectUser`; subscribed while the user has a connection here. */
  user(userId: string): string {
    return this.stream(userStream(userId));
  }

  /** `send` / `disconnect` to one client, read by the instance that holds it only. */
  instance(instanceId: string): string {
    return this.tagged
      ? `{${this.prefix}:inst:${instanceId}}`
      : `${this.prefix}:inst:${instanceId}`;
  }

  /** With recovery: `send` / `disconnect` to one client, read where it is connected now. */
  client(clientId: string): string {
    return this.stream(clientStream(clientId));
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

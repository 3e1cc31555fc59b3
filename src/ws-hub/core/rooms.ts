import type { ClusterLink } from '../cluster/cluster-link.js';
import type { HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import { ErrorCode } from '../protocol/constants.js';
import { HubError } from '../protocol/hub.error.js';
import type { Connection } from './connection.js';

/** Longest room name accepted, in characters. */
export const MAX_ROOM_LENGTH = 128;
const ROOM_RULE = `must be a non-empty string of at most ${MAX_ROOM_LENGTH} characters`;

export function isValidRoom(room: unknown): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_LENGTH;
}

const done = (): void => undefined;

/**
 * Room membership of this instance's clients: the rules (name, capacity, `authorizeJoin`),
 * join and leave, and the cluster subscription a room needs while it has local members. A
 * client's joins and leaves of one room apply in the order they arrive, even while an
 * asynchronous `authorizeJoin` is pending.
 */
export class Rooms {
  private readonly byRoom = new Map<string, Set<Connection>>();
  /** Set once the module's hooks are resolved. */
  authorizeJoin: HubAuthorizeJoinFn | undefined;

  constructor(
    private readonly link: ClusterLink,
    private readonly maxRoomsPerClient: number,
  ) {}

  /** Members of a room on this instance (the live set; do not modify). */
  members(room: string): ReadonlySet<Connection> | undefined {
    return this.byRoom.get(room);
  }

  /** Rooms with at least one member here. */
  get count(): number {
    return this.byRoom.size;
  }

  names(): string[] {
    return [...this.byRoom.keys()];
  }

  /** Throws the `RangeError` the server-side API answers a bad room name with. */
  assertName(room: string): void {
    if (!isValidRoom(room)) throw new RangeError(`room ${ROOM_RULE}`);
  }

  /**
   * Adds a member (`byClient`: its own `join`; else the server decided, without
   * `authorizeJoin`). Returns what the client's receiver needs to record it, if anything.
   */
  add(client: Connection, room: string, byClient = false): Promise<void> | void {
    client.rooms ??= new Set();
    if (client.rooms.has(room)) return;
    client.rooms.add(room);
    let members = this.byRoom.get(room);
    if (!members) {
      this.byRoom.set(room, (members = new Set()));
      this.link.roomAdded(room);
    }
    members.add(client);
    return client.receiver?.roomJoined(client, room, byClient);
  }

  /** Leaves (`byServer`: `HubService.leave`); false when the client was not in the room. */
  remove(client: Connection, room: string, byServer = false): boolean {
    if (!this.drop(client, room)) return false;
    client.receiver?.roomLeft(client, room, byServer);
    return true;
  }

  /** Takes a client out of every room (it is going away: its session, if any, keeps them). */
  removeAll(client: Connection): void {
    if (client.rooms) for (const room of client.rooms) this.drop(client, room);
  }

  /**
   * A client's `join` request: the rules, then `authorizeJoin`, then the cluster subscription,
   * then `then` (what the reply needs, e.g. where a recovering client starts in the room's
   * stream), all before the client's next join or leave of the room: replies keep the order of
   * the requests. `added` tells `then` whether this request made the client a member (a room it
   * was in already: false), so that a failing `then` can undo it.
   */
  requestJoin<T>(
    client: Connection,
    room: unknown,
    then: (room: string, added: boolean) => Promise<T> | T,
  ): Promise<T> {
    if (!isValidRoom(room)) {
      return Promise.reject(new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`));
    }
    return this.inOrder(client, room, async () => then(room, await this.join(client, room)));
  }

  /** A client's `leave` request, applied after the client's pending join of the room if any. */
  requestLeave(client: Connection, room: unknown): string | Promise<string> {
    if (!isValidRoom(room)) {
      throw new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`);
    }
    const leave = (): string => {
      this.remove(client, room);
      return room;
    };
    if (!client.roomOps?.has(room)) return leave();
    return this.inOrder(client, room, async () => leave());
  }

  /** Joins; true when this made the client a member. */
  private async join(client: Connection, room: string): Promise<boolean> {
    if (client.rooms?.has(room)) return false;
    this.assertCapacity(client);
    if (this.authorizeJoin) {
      const allowed = await this.authorizeJoin({
        clientId: client.id,
        userId: client.userId,
        principal: client.principal,
        room,
      });
      if (allowed !== true)
        throw new HubError(ErrorCode.FORBIDDEN, `not allowed to join "${room}"`);
    }
    if (client.removed || client.rooms?.has(room)) return false;
    // authorizeJoin may have let joins of other rooms run at once: count again.
    this.assertCapacity(client);
    await this.add(client, room, true);
    // Acknowledge only once the room's messages from other instances can reach this one
    // (every joiner waits, not only the one that made the room new here).
    await this.link.ready('room:' + room);
    return true;
  }

  /** Runs `op` after the client's earlier joins and leaves of `room` have finished. */
  private inOrder<T>(client: Connection, room: string, op: () => Promise<T>): Promise<T> {
    const ops = (client.roomOps ??= new Map());
    const previous = ops.get(room);
    const result = previous ? previous.then(op) : op();
    const tail = result.then(done, done);
    ops.set(room, tail);
    void tail.then(() => {
      if (ops.get(room) === tail) ops.delete(room);
    });
    return result;
  }

  private drop(client: Connection, room: string): boolean {
    if (!client.rooms?.delete(room)) return false;
    const members = this.byRoom.get(room);
    if (members && members.delete(client) && members.size === 0) {
      this.byRoom.delete(room);
      this.link.roomRemoved(room);
    }
    return true;
  }

  private assertCapacity(client: Connection): void {
    if ((client.rooms?.size ?? 0) >= this.maxRoomsPerClient) {
      throw new HubError(ErrorCode.FORBIDDEN, `at most ${this.maxRoomsPerClient} rooms per client`);
    }
  }
}

import type { ClusterLink } from '../cluster/cluster-link.js';
import { PendingSubscriptions } from '../cluster/pending-subscriptions.js';
import type { HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import { ErrorCode } from '../protocol/constants.js';
import { HubError } from '../protocol/hub.error.js';
import type { HubClient } from './hub-client.js';

/** Longest room name accepted, in characters. */
export const MAX_ROOM_LENGTH = 128;
const ROOM_RULE = `must be a non-empty string of at most ${MAX_ROOM_LENGTH} characters`;

export function isValidRoom(room: unknown): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_LENGTH;
}

/**
 * Room membership of this instance's clients: the rules (name, capacity, `authorizeJoin`),
 * join and leave, and the cluster subscription a room needs while it has local members.
 */
export class Rooms {
  private readonly byRoom = new Map<string, Set<HubClient>>();
  /** Rooms whose cross-instance subscription the adapter has not confirmed yet. */
  private readonly pending = new PendingSubscriptions();
  /** Set once the module's hooks are resolved. */
  authorizeJoin: HubAuthorizeJoinFn | undefined;

  constructor(
    private readonly link: ClusterLink,
    private readonly maxRoomsPerClient: number,
  ) {}

  /** Members of a room on this instance (the live set; do not modify). */
  members(room: string): ReadonlySet<HubClient> | undefined {
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

  /** Joins without asking `authorizeJoin` (the server decides). */
  add(client: HubClient, room: string): void {
    client.rooms ??= new Set();
    if (client.rooms.has(room)) return;
    client.rooms.add(room);
    let members = this.byRoom.get(room);
    if (!members) {
      this.byRoom.set(room, (members = new Set()));
      this.pending.track(room, this.link.roomAdded(room));
    }
    members.add(client);
  }

  /** Leaves; false when the client was not in the room. */
  remove(client: HubClient, room: string): boolean {
    if (!client.rooms?.delete(room)) return false;
    const members = this.byRoom.get(room);
    if (members && members.delete(client) && members.size === 0) {
      this.byRoom.delete(room);
      this.link.roomRemoved(room);
    }
    return true;
  }

  /** Takes a client out of every room (it is going away). */
  removeAll(client: HubClient): void {
    if (client.rooms) for (const room of client.rooms) this.remove(client, room);
  }

  /** A client's `join` request: the rules, then `authorizeJoin`, then the cluster subscription. */
  async requestJoin(client: HubClient, room: unknown): Promise<string> {
    if (!isValidRoom(room)) {
      throw new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`);
    }
    if (client.rooms?.has(room)) return room;
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
    if (client.removed || client.rooms?.has(room)) return room;
    // authorizeJoin may have let several joins of this client run at once: count again.
    this.assertCapacity(client);
    this.add(client, room);
    // Acknowledge only once the room's messages from other instances can reach this one
    // (every joiner waits, not only the one that made the room new here).
    const pending = this.pending.get(room);
    if (pending) await pending;
    return room;
  }

  /** A client's `leave` request. */
  requestLeave(client: HubClient, room: unknown): string {
    if (!isValidRoom(room)) {
      throw new HubError(ErrorCode.BAD_ENVELOPE, `"data.room" ${ROOM_RULE}`);
    }
    this.remove(client, room);
    return room;
  }

  private assertCapacity(client: HubClient): void {
    if ((client.rooms?.size ?? 0) >= this.maxRoomsPerClient) {
      throw new HubError(ErrorCode.FORBIDDEN, `at most ${this.maxRoomsPerClient} rooms per client`);
    }
  }
}

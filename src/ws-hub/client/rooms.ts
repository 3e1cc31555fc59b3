import { HubRequestError } from './errors.js';
import type { HubRoomReply } from './api.js';

export type Rooms = ReturnType<typeof createRooms>;

/**
 * The rooms the app wants to be in: remembered by `join()` at once and forgotten only by
 * `leave()` or a server refusal, so that an outage never loses one. `pending`: not joined on any
 * connection yet (joining those on a resume misses nothing). `view`: a snapshot that stays the
 * same object until the set changes (React's `useSyncExternalStore` compares by identity).
 * `request(room)` sends or queues a join request, or throws when it can do neither.
 */
export function createRooms(changed: () => void, request: (room: string) => Promise<HubRoomReply>) {
  const all = new Set<string>();
  const pending = new Set<string>();
  let view: ReadonlySet<string> | undefined;

  /** Adds (`on`) or forgets a room; `changed()` when that changes the set. */
  const set = (room: string, on: boolean): void => {
    if (all.has(room) === on) return;
    if (on) {
      all.add(room);
      pending.add(room);
    } else {
      all.delete(room);
      pending.delete(room);
    }
    view = undefined;
    changed();
  };
  /** A join request for a remembered room; a refusal forgets it. */
  const join = (room: string) =>
    request(room).then(
      (reply) => {
        pending.delete(room);
        return reply;
      },
      (error) => {
        if (error instanceof HubRequestError) set(room, false);
        throw error;
      },
    );

  return {
    all,
    pending,
    get view(): ReadonlySet<string> {
      return (view ??= new Set(all));
    },
    set,
    join,
    /** `client.join`: remembered unless the request could be neither sent nor queued. */
    async add(room: string): Promise<HubRoomReply> {
      const reply = join(room);
      set(room, true);
      return reply;
    },
  };
}

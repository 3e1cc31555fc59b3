import { ROOM_PREFIX } from '../protocol/streams.js';
import type { HubPosition, HubWelcome, HubWelcomeRecovery } from './types.js';

/** How many recent `mid`s the client remembers (Redis Cluster copies of one message). */
const MIDS = 256;

/**
 * What the client keeps to resume a session (see the README's "Wire protocol extension"): the
 * last resume credential and its position in each stream, kept by the continuity rule
 * (`frame`): `[offset, epoch, first, replayEnd]`. `first`: a room stream whose join is in flight
 * gets a provisional position from the frames that arrive before the `joined` reply, which
 * must continue the reply's position (their first offset at most one past it). `replayEnd`:
 * after a resume, the offset the replay of a recovered stream ends at.
 */
export function createPositions() {
  let session: string | undefined;
  let positions = new Map<string, [number, string, number?, number?]>();
  /** Room streams with a join in flight: a frame may arrive before the `joined` reply. */
  const joining = new Set<string>();
  /** The `mid`s of the last messages handed to the app (a ring of `MIDS`). */
  const mids: unknown[] = [];
  let midCount = 0;

  return {
    /**
     * The `recover` frame's data: the credential and the positions of exactly the streams the
     * client is in (those of the last welcome, `all`, its own, its user's and its rooms', and
     * the rooms it joined since; a room left is dropped at once).
     */
    request() {
      const streams: Record<string, { epoch: string; offset: number }> = {};
      for (const [stream, [offset, epoch]] of positions) streams[stream] = { epoch, offset };
      return { session, streams };
    },

    /**
     * A welcome, for a client in `rooms`. With recovery (its `recovery`, which only a server
     * that picked `ws-hub.recovery` sends) the positions become the welcome's streams (minus
     * rooms left meanwhile); on plain v1 nothing is kept. The credential is taken out of the
     * welcome (apps log welcomes and state changes). Returns what to do with the rooms: those to
     * rejoin (not restored with the session, or all of them on plain v1), those refused on
     * resume, those restored but left meanwhile, and whether recovery was complete (`undefined`
     * on plain v1). Joining a room in `pending` (never joined yet) misses nothing: it leaves
     * recovery complete.
     */
    welcome(data: HubWelcome, rooms: Set<string>, pending?: Set<string>) {
      const recovery = data.recovery as (HubWelcomeRecovery & { session?: string }) | undefined;
      const restored = recovery?.streams ?? {};
      const rejoin: string[] = [];
      const refused: string[] = [];
      const leave: string[] = [];
      const mine = positions;
      positions = new Map();
      session = recovery?.session;
      delete recovery?.session;
      for (const stream in restored) {
        const { epoch, offset, recovered } = restored[stream];
        const room = stream.slice(ROOM_PREFIX.length);
        // (A room the server put the client in is not the app's, but the client followed it.)
        if (ROOM_PREFIX + room === stream && !rooms.has(room) && !mine.has(stream))
          leave.push(room);
        // A recovered stream continues from the client's offset, the replay follows. (Its epoch
        // is the client's, or the stream had none yet when the client was at offset 0.)
        else
          positions.set(
            stream,
            recovered && mine.has(stream)
              ? [mine.get(stream)![0], epoch, 0, offset]
              : [offset, epoch],
          );
      }
      for (const room of rooms)
        if (!(ROOM_PREFIX + room in restored))
          (recovery?.refusedRooms?.includes(room) ? refused : rejoin).push(room);
      const recovered =
        recovery && recovery.recovered && !refused.length && rejoin.every((r) => pending?.has(r));
      return { rejoin, refused, leave, recovered };
    },

    /**
     * The continuity rule for a positioned frame (`pos`; `mid`: its Redis Cluster message id).
     * In each stream it must be the next message: offset + 1 in the same epoch (after offset 0,
     * "nothing yet", any epoch). At or below the position in the same epoch it is a duplicate;
     * anything else (a gap, another epoch) is lost continuity, and the frame changes nothing.
     * Streams the client is not in are not followed. Returns 0: continuity lost (resume); 1:
     * nothing for the app (a duplicate, or a copy of a `mid` it had); 2: a message; 3: a
     * message replayed after a resume.
     */
    frame(pos: Record<string, HubPosition>, mid?: unknown): number {
      const next: [unknown[], HubPosition][] = [];
      let tracked = 0;
      let replayed = 2;
      for (const stream in pos) {
        // (Indexed, not destructured: a malformed position must not throw.)
        const p = Object(pos[stream]);
        const offset = p[0];
        const epoch = p[1];
        let mine = positions.get(stream);
        // A joining room's first frame: the `joined` reply checks where it starts.
        if (!mine && joining.has(stream))
          positions.set(stream, (mine = [offset - 1, epoch, offset]));
        if (mine) {
          tracked = 1;
          if (offset === mine[0] + 1 && (epoch === mine[1] || !mine[0])) next.push([mine, p]);
          else if (epoch !== mine[1] || offset > mine[0]) return 0;
          if (offset <= mine[3]!) replayed = 3;
        }
      }
      for (const [mine, p] of next) Object.assign(mine, p);
      if (tracked && !next.length) return 1;
      if (mid) {
        if (mids.includes(mid)) return 1;
        mids[midCount++ % MIDS] = mid;
      }
      return replayed;
    },

    /** A join request in flight, until its `reply` settles (a failed join drops its frames' position). */
    joining<T>(room: string, reply: Promise<T>): Promise<T> {
      const stream = ROOM_PREFIX + room;
      const done = () => {
        joining.delete(stream);
        if (positions.get(stream)?.[2]) positions.delete(stream);
      };
      joining.add(stream);
      reply.then(done, done);
      return reply;
    },

    /**
     * A `joined` reply's position (recovery connections): the room's stream starts there, and
     * the frames received meanwhile must continue it (else false: lost continuity, their
     * position dropped). Without `pos`: the room was left, its position is dropped.
     */
    room(room: string, pos?: HubPosition): boolean {
      const stream = ROOM_PREFIX + room;
      const mine = positions.get(stream);
      const first = mine?.[2];
      if (!pos) joining.delete(stream);
      if (!pos || first! > pos[0] + 1 || (first && pos[0] && mine![1] !== pos[1]))
        return !positions.delete(stream);
      if (!mine) positions.set(stream, [pos[0], pos[1]]);
      else if (first) {
        mine[0] = Math.max(mine[0], pos[0]);
        mine[2] = 0;
      }
      return true;
    },
  };
}

import { RECOVERY_SUBPROTOCOL } from '../protocol/constants.js';
import type { HubPosition, HubWelcome, HubWelcomeRecovery } from './types.js';

export type Positions = ReturnType<typeof createPositions>;

/**
 * What the client keeps to resume a session (see the README's "Wire protocol extension"): the
 * last resume credential and its position in each stream, `[offset, epoch]`. Within an epoch an
 * offset only grows; a new epoch replaces it.
 */
export function createPositions() {
  let session: string | undefined;
  let positions = new Map<string, HubPosition>();
  /** Recovered streams whose missed messages are coming: the offset the replay ends at. */
  let replayUntil = new Map<string, number>();
  /** Room streams with a join in flight: a frame may arrive before the `joined` reply. */
  const joining = new Set<string>();

  const advance = (stream: string, pos: HubPosition) => {
    const mine = positions.get(stream);
    if (!mine || mine[1] !== pos[1] || mine[0] < pos[0]) positions.set(stream, [pos[0], pos[1]]);
  };

  return {
    /**
     * The `recover` frame's data: the credential and the positions of exactly the streams the
     * client is in (`all`, its own, its user's and its rooms').
     */
    request(welcome: HubWelcome | undefined, rooms: Iterable<string>) {
      const streams = ['all'];
      for (const room of rooms) streams.push('room:' + room);
      if (welcome) streams.push('client:' + welcome.clientId);
      if (welcome?.userId !== undefined) streams.push('user:' + welcome.userId);
      const known: Record<string, { epoch: string; offset: number }> = {};
      for (const stream of streams) {
        const pos = positions.get(stream);
        if (pos) known[stream] = { epoch: pos[1], offset: pos[0] };
      }
      return { session, streams: known };
    },

    /**
     * A welcome on a connection whose subprotocol is `protocol`, for a client in `rooms`. With
     * recovery the positions become the welcome's streams (minus rooms left meanwhile); on plain
     * v1 nothing is kept. The credential is taken out of the welcome (apps log welcomes and
     * state changes). Returns what to do with the rooms (see `resumeRooms`); `pending`: rooms
     * never joined yet.
     */
    welcome(
      data: HubWelcome,
      protocol: string | undefined,
      rooms: Set<string>,
      pending?: Set<string>,
    ) {
      const recovery =
        protocol === RECOVERY_SUBPROTOCOL
          ? ((data.recovery ??= { streams: {}, recovered: false }) as HubWelcomeRecovery & {
              session?: string;
            })
          : undefined;
      const next = new Map<string, HubPosition>();
      replayUntil = new Map();
      session = recovery?.session;
      delete recovery?.session;
      for (const [stream, s] of Object.entries(recovery?.streams ?? {})) {
        if (stream.startsWith('room:') && !rooms.has(stream.slice(5))) continue;
        const mine = positions.get(stream);
        // A recovered stream continues from the client's offset, the replay follows. (Its epoch
        // is the client's, or the stream had none yet when the client was at offset 0.)
        if (s.recovered && mine) {
          next.set(stream, [mine[0], s.epoch]);
          if (mine[0] < s.offset) replayUntil.set(stream, s.offset);
        } else next.set(stream, [s.offset, s.epoch]);
      }
      positions = next;
      return resumeRooms(rooms, recovery, pending);
    },

    /** A positioned frame (`pos`); true when it replays a message missed while disconnected. */
    frame(pos: Record<string, HubPosition>): boolean {
      let replayed = false;
      for (const stream in pos) {
        const p = pos[stream];
        if (!Array.isArray(p)) continue;
        if (positions.has(stream) || joining.has(stream)) advance(stream, p);
        if (p[0] <= (replayUntil.get(stream) ?? -1)) replayed = true;
      }
      return replayed;
    },

    /** A join request in flight, until its `reply` settles. */
    joining<T>(room: string, reply: Promise<T>): Promise<T> {
      const stream = 'room:' + room;
      const done = () => joining.delete(stream);
      joining.add(stream);
      reply.then(done, done);
      return reply;
    },

    /** A `joined` reply's position (recovery connections), or a left room's removal. */
    room(room: string, pos?: HubPosition): void {
      if (pos) advance('room:' + room, pos);
      else positions.delete('room:' + room);
    },
  };
}

/**
 * What a welcome means for the rooms the client remembers: those to rejoin (not restored with
 * the session, or all of them on plain v1), those refused on resume, those restored but left
 * meanwhile, and whether recovery was complete (`undefined` on plain v1). Joining a room in
 * `pending` (never joined yet) misses nothing: it leaves recovery complete.
 */
export function resumeRooms(
  rooms: Set<string>,
  recovery: HubWelcomeRecovery | undefined,
  pending?: Set<string>,
) {
  const restored = recovery?.streams ?? {};
  const rejoin: string[] = [];
  const refused: string[] = [];
  const leave: string[] = [];
  for (const room of rooms) {
    if (!('room:' + room in restored))
      (recovery?.refusedRooms?.includes(room) ? refused : rejoin).push(room);
  }
  for (const stream in restored) {
    if (stream.startsWith('room:') && !rooms.has(stream.slice(5))) leave.push(stream.slice(5));
  }
  const recovered =
    recovery && recovery.recovered && !refused.length && rejoin.every((r) => pending?.has(r));
  return { rejoin, refused, leave, recovered };
}

import type { HubPosition, HubWelcomeRecovery } from './types.js';

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
    /** The `recover` frame's data: the credential and the positions of `streams` known. */
    request(streams: string[]) {
      const known: Record<string, { epoch: string; offset: number }> = {};
      for (const stream of streams) {
        const pos = positions.get(stream);
        if (pos) known[stream] = { epoch: pos[1], offset: pos[0] };
      }
      return { session, streams: known };
    },

    /**
     * A welcome: `recovery` on a connection that negotiated it (the positions become the
     * welcome's streams), `undefined` on plain v1 (nothing to resume from then on).
     */
    welcome(recovery: (HubWelcomeRecovery & { session?: string }) | undefined): void {
      const next = new Map<string, HubPosition>();
      replayUntil = new Map();
      session = recovery?.session;
      for (const [stream, s] of Object.entries(recovery?.streams ?? {})) {
        const mine = positions.get(stream);
        // A recovered stream continues from the client's offset, the replay follows. (Its epoch
        // is the client's, or the stream had none yet when the client was at offset 0.)
        if (s.recovered && mine) {
          next.set(stream, [mine[0], s.epoch]);
          if (mine[0] < s.offset) replayUntil.set(stream, s.offset);
        } else next.set(stream, [s.offset, s.epoch]);
      }
      positions = next;
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

    /** Marks a join in flight; returns the function that ends it. */
    joining(stream: string): () => void {
      joining.add(stream);
      return () => joining.delete(stream);
    },

    /** A `joined` reply's position, or a left room's removal (`pos` undefined). */
    room(stream: string, pos?: HubPosition): void {
      if (pos) advance(stream, pos);
      else positions.delete(stream);
    },

    /** For tests and debugging: the position of `stream`. */
    get(stream: string): HubPosition | undefined {
      return positions.get(stream);
    },
  };
}

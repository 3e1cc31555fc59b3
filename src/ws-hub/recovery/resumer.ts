import type { ClusterLink } from '../cluster/cluster-link.js';
import type { ClientRegistry } from '../core/client-registry.js';
import type { Closer } from '../core/closer.js';
import type { Delivery } from '../core/delivery.js';
import type { Connection } from '../core/connection.js';
import type { Rooms } from '../core/rooms.js';
import type { Welcomer } from '../core/welcomer.js';
import type { RecoveryStore, StreamTop } from '../interfaces/recovery.interface.js';
import { hubLogger } from '../util/logger.js';
import type { ResolvedRecoveryOptions } from '../options/feature-options.js';
import { CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import { encodeError } from '../protocol/envelope.js';
import {
  ALL_STREAM,
  clientStream,
  roomOfStream,
  roomStream,
  userStream,
  type StreamPosition,
} from '../protocol/streams.js';
import { errorText } from '../util/error-text.js';
import type { ClientStreams } from './client-streams.js';
import { issueCredential, readCredential, type IssuedCredential } from './credentials.js';
import { parseRecoverRequest, type RecoverRequest } from './recover-request.js';
import { HistoryReader } from './history-reader.js';
import { missedMessages } from './replay.js';

/** How long a resuming client may take to read its replay down to its buffer limit. */
const REPLAY_READ_TIMEOUT_MS = 30_000;

/** What a client is told of one stream in its welcome. */
interface StreamState {
  epoch: string;
  offset: number;
  /** Present for streams the client asked to recover. */
  recovered?: boolean;
}

/** What the resumer needs of the strategy it works for. */
export interface ResumeHost {
  /** Whether the store is shared by instances (takeovers go through the cluster). */
  readonly distributed: boolean;
  /** Settles once every message published before now has reached this instance. */
  barrier(): Promise<void> | undefined;
  /** The streams' positions as this resume read them (the continuity monitor's start). */
  observed(tops: readonly StreamTop[]): void;
  /**
   * The replay sent these messages appended as several copies: their copies still to come
   * live are `skip` frames for this client.
   */
  replayedCopies(client: Connection, ids: ReadonlySet<string>): void;
  /** Whether a copy of the multi-copy message `id` reached this client here already. */
  gotCopy(client: Connection, id: string, asked: ReadonlyMap<string, StreamPosition>): boolean;
}

/**
 * The `recover` frame: resumes the presented session (or starts a new one), restores the
 * session's rooms, reads what the client missed within the replay budget, sends the welcome,
 * the replay and the messages held meanwhile, then announces the client.
 */
export class Resumer {
  constructor(
    options: ResolvedRecoveryOptions,
    private readonly maxRoomsPerClient: number,
    private readonly store: RecoveryStore,
    private readonly registry: ClientRegistry,
    private readonly rooms: Rooms,
    private readonly delivery: Delivery,
    private readonly closer: Closer,
    private readonly welcomer: Welcomer,
    private readonly link: ClusterLink,
    private readonly host: ResumeHost,
  ) {
    this.reader = new HistoryReader(store, options);
  }

  /** Reads what a resuming client missed. */
  private readonly reader: HistoryReader;

  async recover(
    client: Connection,
    streams: ClientStreams,
    data: unknown,
    id: string | number | undefined,
  ): Promise<void> {
    if (!streams.awaiting) {
      this.delivery.text(
        client,
        encodeError(ErrorCode.BAD_ENVELOPE, '"recover" is only the first frame', id),
      );
      return;
    }
    streams.awaiting = false;
    clearTimeout(streams.timer);
    streams.timer = undefined;
    // Frames sent behind `recover` are answered after the welcome, under the resumed id.
    streams.opening();
    const parsed = parseRecoverRequest(data);
    // A malformed request starts a fresh session rather than an error loop.
    const request: RecoverRequest =
      typeof parsed === 'string' ? { session: undefined, streams: new Map() } : parsed;
    try {
      await this.resume(client, streams, request, parsed, id);
      streams.opened(client);
    } catch (err) {
      // The store failed (Redis away): the client reconnects and tries again.
      hubLogger.warn(`recovering client ${client.id} failed: ${errorText(err)}`);
      this.closer.close(
        client,
        CloseCode.TRY_AGAIN_LATER,
        'recovery unavailable',
        DisconnectReason.RECOVER_TIMEOUT,
      );
    }
  }

  private async resume(
    client: Connection,
    streams: ClientStreams,
    request: RecoverRequest,
    parsed: RecoverRequest | string,
    id: string | number | undefined,
  ): Promise<void> {
    const { credential, resumed, sessionRooms, floors } = await this.resumeOrCreate(
      client,
      streams,
      request,
    );
    if (client.removed) {
      // Revoked while its session was being opened: the removal found no session to end yet.
      if (client.closeReason === DisconnectReason.REVOKED) void this.store.deleteSession(client.id);
      return;
    }
    const refused = await this.restoreRooms(client, streams, request, sessionRooms);
    if (client.removed) return;
    // Read only once this instance hears every stream of the client: a message published
    // before would be in the history but never delivered live.
    const names = streamsOf(client);
    await Promise.all(names.map((n) => (n === ALL_STREAM ? undefined : this.link.ready(n))));
    if (client.removed) return;

    // The streams whose history this session may read: those it is in and was in (a room it
    // presents without its session having it is a fresh join, read from its top; another
    // user's stream, or a refused room, is not its own).
    const own = new Set(names);
    const asked = new Map<string, StreamPosition>();
    if (resumed) {
      for (const [name, pos] of request.streams) {
        if (!own.has(name)) continue;
        const room = roomOfStream(name);
        if (room !== undefined && !sessionRooms?.has(room)) continue;
        // Never from before the client joined the room (a forged offset would read its past).
        const floor = room === undefined ? undefined : floors?.get(room);
        const below =
          floor !== undefined &&
          pos.offset < floor.offset &&
          (pos.offset === 0 || pos.epoch === floor.epoch);
        asked.set(name, below ? floor : pos);
      }
    }
    const { reads, tops, complete } = await this.reader.read(names, asked);
    if (client.removed) return;
    // Every message published before the reads has reached this instance (and is held).
    await this.host.barrier();
    if (client.removed) return;
    this.host.observed(tops);

    const states: Record<string, StreamState> = {};
    for (const t of tops) {
      const state: StreamState = { epoch: t.epoch, offset: t.top };
      // Every stream the client presented says whether it was recovered (a fresh join, another
      // user's stream or a refused room never is).
      if (request.streams.has(t.stream))
        state.recovered = asked.has(t.stream) && complete.has(t.stream);
      states[t.stream] = state;
    }
    const presentedAll = [...request.streams.keys()].every((n) => asked.has(n));
    const recovered =
      resumed &&
      refused.length === 0 &&
      presentedAll &&
      [...asked.keys()].every((n) => complete.has(n));
    const extra: Record<string, unknown> = {
      recovery: {
        recovered,
        session: credential,
        streams: states,
        ...(refused.length ? { refusedRooms: refused } : {}),
        ...(typeof parsed === 'string' ? { error: parsed } : {}),
      },
    };
    this.delivery.text(client, this.welcomer.frame(client, extra, id));
    const copies = new Set<string>();
    const replay = missedMessages(
      reads.filter((h) => complete.has(h.stream)),
      asked,
      client,
      copies,
      (mid) => this.host.gotCopy(client, mid, asked),
      new Map(tops.map((t) => [t.stream, t.epoch])),
    );
    if (copies.size > 0) this.host.replayedCopies(client, copies);
    // The replay is bounded (maxReplayBytes); what is held meanwhile waits until the client has
    // read it down to its buffer limit. A client that does not is closed (1013): its positions
    // stop where it stopped reading, and the next resume continues from there.
    if (!(await this.delivery.replay(client, replay, REPLAY_READ_TIMEOUT_MS))) return;
    if (client.removed) return;
    if (!streams.release(client, tops)) return;
    this.welcomer.announce(client);
  }

  /**
   * The session's rooms, restored: those the client joined itself are asked of
   * `authorizeJoin` again (refused ones are left out, and listed); a room the client presents
   * without its session having it is a fresh join (at most `maxRoomsPerClient` of them).
   */
  private async restoreRooms(
    client: Connection,
    streams: ClientStreams,
    request: RecoverRequest,
    sessionRooms: ReadonlyMap<string, boolean> | undefined,
  ): Promise<string[]> {
    const refused: string[] = [];
    if (sessionRooms) {
      streams.restoring = true;
      try {
        for (const [room, byClient] of sessionRooms) {
          // A room the client no longer presents, it left (or the server took it out): the
          // leave may not have reached the session (Redis was away then). A client learns the
          // rooms the server puts it in from an unsolicited `joined` (with the position it
          // presents), so what it does not present it cannot resume either.
          if (!request.streams.has(roomStream(room))) {
            this.store.removeRoom(client.id, room);
            continue;
          }
          if (!byClient) {
            this.rooms.add(client, room, false);
            continue;
          }
          try {
            await this.rooms.requestJoin(client, room, () => undefined);
          } catch {
            refused.push(room);
            this.store.removeRoom(client.id, room);
          }
          if (client.removed) return refused;
        }
      } finally {
        streams.restoring = false;
      }
    }
    let fresh = 0;
    for (const name of request.streams.keys()) {
      const room = roomOfStream(name);
      if (room === undefined || sessionRooms?.has(room) || client.rooms?.has(room)) continue;
      if (++fresh > this.maxRoomsPerClient) {
        refused.push(room);
        continue;
      }
      try {
        await this.rooms.requestJoin(client, room, () => undefined);
      } catch {
        refused.push(room); // refused, or authorizeJoin failed: not a member
      }
      if (client.removed) return refused;
    }
    return refused;
  }

  private async resumeOrCreate(
    client: Connection,
    streams: ClientStreams,
    request: RecoverRequest,
  ): Promise<
    IssuedCredential & {
      resumed: boolean;
      sessionRooms?: Map<string, boolean>;
      floors?: ReadonlyMap<string, StreamPosition>;
    }
  > {
    const presented = readCredential(request.session);
    if (presented) {
      const next = issueCredential(presented.clientId);
      const result = await this.store.resumeSession(
        presented.clientId,
        client.userId,
        presented.hash,
        next.hash,
        client.connectionId,
      );
      if (result.outcome === 'ok' && !client.removed) {
        const previous = this.registry.get(presented.clientId);
        this.link.clientRemoved(client.id);
        this.registry.rekey(client, presented.clientId);
        // Subscribed before the previous connection lets go of the id: nothing sent to it in
        // between is lost.
        this.link.clientAdded(presented.clientId);
        this.takeOver(presented.clientId, previous, client);
        streams.hasSession = true;
        // Rooms the server joined the client to before its `recover` belong to the session.
        for (const room of client.rooms ?? []) {
          if (!result.rooms?.has(room)) void this.store.addRoom(client.id, room, false);
        }
        return {
          ...next,
          resumed: true,
          sessionRooms: result.rooms ?? new Map(),
          floors: result.floors,
        };
      }
      if (result.outcome === 'ok') this.store.release(presented.clientId, client.connectionId);
      // Never say why (an attacker probing credentials learns nothing); a fresh session follows.
      hubLogger.debug(
        `client ${client.id} presented a session that cannot be resumed (${result.outcome})`,
      );
    }
    const fresh = issueCredential(client.id);
    await this.store.createSession(client.id, client.userId, fresh.hash, client.connectionId);
    streams.hasSession = true;
    for (const room of client.rooms ?? []) await this.store.addRoom(client.id, room, false);
    return { ...fresh, resumed: false };
  }

  /**
   * Another connection of this session may still be open (a half-open socket the heartbeat has
   * not caught yet, or a stolen credential): it is closed with 4409, here or wherever it is.
   */
  private takeOver(clientId: string, old: Connection | undefined, by: Connection): void {
    if (old && old !== by) {
      this.closer.close(
        old,
        CloseCode.SESSION_RESUMED,
        'session resumed',
        DisconnectReason.SESSION_RESUMED,
      );
    }
    if (this.host.distributed) {
      this.link.publish({
        type: 'disconnect',
        clientId,
        code: CloseCode.SESSION_RESUMED,
        reason: 'session resumed',
        keep: by.connectionId,
      });
    }
  }
}

/** The streams a client is in: all, its own, its user's, its rooms'. */
export function streamsOf(client: Connection): string[] {
  const names = [ALL_STREAM, clientStream(client.id)];
  if (client.userId !== undefined) names.push(userStream(client.userId));
  if (client.rooms) for (const room of client.rooms) names.push(roomStream(room));
  return names;
}

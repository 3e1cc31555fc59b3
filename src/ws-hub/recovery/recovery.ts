import type { ClusterLink } from '../cluster/cluster-link.js';
import type { ClientRegistry } from '../core/client-registry.js';
import type { Closer } from '../core/closer.js';
import type { Delivery } from '../core/delivery.js';
import { OutgoingFrame } from '../core/frame-writer.js';
import type { HubClient } from '../core/hub-client.js';
import type { HubStreams } from '../core/hub-streams.js';
import type { Registrar } from '../core/registrar.js';
import type { Rooms } from '../core/rooms.js';
import type { RecoveryStore, StreamHistory } from '../interfaces/recovery.interface.js';
import { hubLogger } from '../logger.js';
import { errorText } from '../options/validators.js';
import { CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import { encodeError } from '../protocol/envelope.js';
import { issueCredential, readCredential, type IssuedCredential } from './credentials.js';
import type { MemoryHistory } from './memory-history.js';
import type { MemoryRecoveryStore } from './memory-store.js';
import { parseRecoverRequest, type RecoverRequest } from './recover-request.js';
import { missedMessages, releaseHeld } from './replay.js';
import {
  ALL_STREAM,
  clientStream,
  roomStream,
  userStream,
  type Position,
} from '../protocol/streams.js';

/** How long a connection that negotiated recovery may take to send its `recover` frame. */
export const RECOVER_TIMEOUT_MS = 10_000;

/** What a client is told of one stream in its welcome. */
interface StreamState {
  epoch: string;
  offset: number;
  /** Present for streams the client asked to recover. */
  recovered?: boolean;
}

/**
 * Message recovery: streams with offsets and epochs, bounded history, resumable sessions.
 *
 * On one instance (`history` given) a message is appended to its streams synchronously and the
 * positioned frame goes out with the plain one. On a cluster the adapter appends and publishes
 * in one step and hands the positioned message back to every instance, this one included, so
 * that recovering clients see each stream in the order the store assigned.
 */
export class Recovery {
  constructor(
    private readonly store: RecoveryStore,
    private readonly history: MemoryHistory | undefined,
    /** The single-instance store (with `history`), for what only it can tell. */
    private readonly memory: MemoryRecoveryStore | undefined,
    private readonly registry: ClientRegistry,
    private readonly rooms: Rooms,
    private readonly delivery: Delivery,
    private readonly closer: Closer,
    private readonly registrar: Registrar,
    private readonly link: ClusterLink,
    private readonly streams: HubStreams,
  ) {}

  // ------------------------------------------------------------------ publishing

  /** A broadcast to everyone or to rooms; returns how many clients of this instance got it. */
  broadcast(
    plain: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number {
    const names = rooms ? [...new Set(rooms)].map(roomStream) : [ALL_STREAM];
    if (this.history) {
      const { text, positions } = this.history.append(names, plain.text, except);
      return this.delivery.broadcast(plain, rooms, except, new OutgoingFrame(text, positions));
    }
    const delivered = this.delivery.broadcast(plain, rooms, except, undefined);
    this.link.publish({ type: 'broadcast', frame: plain.text, rooms, except, streams: names });
    return delivered;
  }

  /** A message to one client; true when it is here or may be elsewhere. */
  send(clientId: string, plain: OutgoingFrame): boolean {
    const client = this.registry.get(clientId);
    if (this.history) {
      // A session that can still be resumed keeps its direct messages for the next connection.
      if (!client && !this.memory!.isResumable(clientId)) return false;
      const { text, positions } = this.history.append([clientStream(clientId)], plain.text);
      if (!client) return true;
      this.delivery.message(client, plain, new OutgoingFrame(text, positions));
      return true;
    }
    if (client) this.delivery.message(client, plain, undefined);
    else if (!this.link.isRemoteClientId(clientId)) return false;
    this.link.publish({
      type: 'send',
      clientId,
      frame: plain.text,
      streams: [clientStream(clientId)],
    });
    return true;
  }

  /** A message to every connection of a user; returns how many were here. */
  toUser(userId: string, plain: OutgoingFrame): number {
    if (this.history) {
      const { text, positions } = this.history.append([userStream(userId)], plain.text);
      return this.delivery.toUser(userId, plain, new OutgoingFrame(text, positions));
    }
    const n = this.delivery.toUser(userId, plain, undefined);
    this.link.publish({ type: 'user', userId, frame: plain.text, streams: [userStream(userId)] });
    return n;
  }

  // ----------------------------------------------------------- connection lifecycle

  /** Subscriptions to clients' channels the adapter has not confirmed yet. */
  private readonly clientReady = new WeakMap<HubClient, Promise<void>>();

  /** Any client registered while recovery is on: `send` to it goes through its stream's channel. */
  added(client: HubClient): void {
    const ready = this.link.clientAdded(client.id);
    if (ready) this.clientReady.set(client, ready);
  }

  /** Any client left. */
  removed(client: HubClient): void {
    this.link.clientRemoved(client.id);
    if (client.recovery !== undefined) this.detach(client);
  }

  /** Keeps the sessions of this instance's recovering clients alive in the store. */
  touchSessions(): void {
    const ids: string[] = [];
    for (const client of this.registry.list) if (client.recovery?.hasSession) ids.push(client.id);
    if (ids.length) this.store.touch(ids);
  }

  /** A client that negotiated recovery registered: hold its frames until its `recover`. */
  attach(client: HubClient): void {
    const timer = setTimeout(() => {
      if (client.recovery?.awaiting) {
        this.closer.close(
          client,
          CloseCode.POLICY_VIOLATION,
          'recover frame expected',
          DisconnectReason.RECOVER_TIMEOUT,
        );
      }
    }, RECOVER_TIMEOUT_MS);
    timer.unref();
    client.recovery = { awaiting: true, held: [], seam: undefined, timer, hasSession: false };
  }

  /** A recovering client left: its session stays resumable for the session TTL. */
  private detach(client: HubClient): void {
    const rec = client.recovery!;
    clearTimeout(rec.timer);
    rec.held = undefined;
    if (rec.hasSession) this.store.release(client.id);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** The position a recovering client starts from in a room it just joined. */
  async joined(room: string): Promise<Position> {
    const h = await this.store.read(roomStream(room), undefined);
    return [h.top, h.epoch];
  }

  // ------------------------------------------------------------------ resuming

  /**
   * The `recover` frame: resumes the presented session (or starts a new one), restores the
   * rooms, sends the welcome, replays what the client missed, then lets live frames through.
   */
  async recover(client: HubClient, data: unknown, id: string | number | undefined): Promise<void> {
    const rec = client.recovery;
    if (!rec?.awaiting) {
      this.delivery.text(
        client,
        encodeError(ErrorCode.BAD_ENVELOPE, '"recover" is only the first frame', id),
      );
      return;
    }
    rec.awaiting = false;
    clearTimeout(rec.timer);
    rec.timer = undefined;
    const parsed = parseRecoverRequest(data);
    // A malformed request starts a fresh session rather than an error loop.
    const request: RecoverRequest =
      typeof parsed === 'string' ? { session: undefined, streams: new Map() } : parsed;
    try {
      const credential = await this.resumeOrCreate(client, request);
      if (client.removed) return;
      const resumed = credential.resumed;
      const refused: string[] = [];
      if (resumed) {
        for (const name of request.streams.keys()) {
          if (!name.startsWith('room:')) continue;
          const room = name.slice(5);
          try {
            await this.rooms.requestJoin(client, room);
          } catch {
            refused.push(room);
          }
        }
        if (client.removed) return;
      }
      // Read the newest offsets only once this instance hears the client's and its user's
      // channels: a message published before would be in history but never delivered live.
      await Promise.all([this.clientReady.get(client), this.registrar.userReady(client.userId)]);
      if (client.removed) return;
      const names = this.streamsOf(client);
      const reads = await Promise.all(
        names.map((name) => this.store.read(name, resumed ? request.streams.get(name) : undefined)),
      );
      if (client.removed) return;
      const states: Record<string, StreamState> = {};
      let recovered = resumed && refused.length === 0;
      const complete: StreamHistory[] = [];
      for (const h of reads) {
        const asked = resumed && request.streams.has(h.stream);
        const state: StreamState = { epoch: h.epoch, offset: h.top };
        if (asked) {
          state.recovered = h.complete;
          if (h.complete) complete.push(h);
          else recovered = false;
        }
        states[h.stream] = state;
      }
      // Streams asked for that this client may not read (another user's, a refused room).
      if (resumed)
        for (const name of request.streams.keys()) if (!(name in states)) recovered = false;
      const extra: Record<string, unknown> = {
        recovery: {
          recovered,
          session: credential.credential,
          streams: states,
          ...(refused.length ? { refusedRooms: refused } : {}),
          ...(typeof parsed === 'string' ? { error: parsed } : {}),
        },
      };
      this.delivery.text(client, this.registrar.welcomeFrame(client, extra, id));
      this.delivery.texts(client, missedMessages(complete, request.streams, client.id));
      releaseHeld(client, reads, this.delivery);
      this.registrar.announce(client);
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

  /** The streams a client is in: all, its own, its user's, its rooms'. */
  private streamsOf(client: HubClient): string[] {
    const names = [ALL_STREAM, clientStream(client.id)];
    if (client.userId !== undefined) names.push(userStream(client.userId));
    if (client.rooms) for (const room of client.rooms) names.push(roomStream(room));
    return names;
  }

  private async resumeOrCreate(
    client: HubClient,
    request: RecoverRequest,
  ): Promise<IssuedCredential & { resumed: boolean }> {
    const presented = readCredential(request.session);
    if (presented) {
      const next = issueCredential(presented.clientId);
      const outcome = await this.store.resumeSession(
        presented.clientId,
        client.userId,
        presented.hash,
        next.hash,
      );
      if (outcome === 'ok' && !client.removed) {
        const old = this.registry.get(presented.clientId);
        if (old && old !== client) {
          // The previous connection of this session is still registered (a half-open socket
          // the heartbeat has not caught yet): the newer one wins.
          this.closer.close(
            old,
            CloseCode.SESSION_RESUMED,
            'session resumed',
            DisconnectReason.SESSION_RESUMED,
          );
        }
        this.link.clientRemoved(client.id);
        this.registry.rekey(client, presented.clientId);
        await this.link.clientAdded(presented.clientId);
        client.recovery!.hasSession = true;
        return { ...next, resumed: true };
      }
      // Never say why (an attacker probing credentials learns nothing); a fresh session follows.
      hubLogger.debug(
        `client ${client.id} presented a session that cannot be resumed (${outcome})`,
      );
    }
    const fresh = issueCredential(client.id);
    await this.store.createSession(client.id, client.userId, fresh.hash);
    client.recovery!.hasSession = true;
    return { ...fresh, resumed: false };
  }
}

import type { ClusterLink } from '../cluster/cluster-link.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { truncateReason } from '../protocol/close.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import { markAlive, type HeartbeatScheduler } from './heartbeat.js';
import type { Connection } from './connection.js';
import type { HubCounters } from './hub-counters.js';
import type { HubEvents } from './hub-events.js';
import type { Rooms } from './rooms.js';

/** Grace period for a client to answer a server close before its socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Every way a client leaves: a server close, an eviction, a close the peer started, and the
 * shutdown drain. A client is unregistered the moment the server decides to close it, so it
 * stops counting as online and receives nothing more.
 */
export class Closer {
  private readonly graceTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly counters: HubCounters,
    private readonly registry: ClientRegistry,
    private readonly rooms: Rooms,
    private readonly heartbeat: HeartbeatScheduler,
    private readonly link: ClusterLink,
    private readonly events: HubEvents,
    /** Told when a client goes (its token expiry is no longer watched). */
    private readonly expiry?: { remove(client: Connection): void },
  ) {}

  /**
   * Closes a client with a close frame. A peer that does not answer the close is destroyed
   * after `graceMs` instead of holding the socket for ws's 30 s close timeout.
   */
  close(client: Connection, code: number, reason: string, why: string, graceMs = CLOSE_GRACE_MS) {
    if (client.removed) return;
    client.closeReason = why;
    this.remove(client, code, why);
    const socket = client.socket;
    try {
      socket.close(code, truncateReason(reason));
    } catch (err) {
      // An invalid code: the peer can only be cut (it sees 1006).
      hubLogger.warn(`closing client ${client.id} with ${code} failed: ${errorText(err)}`);
      socket.terminate();
      return;
    }
    const timer = setTimeout(() => {
      this.graceTimers.delete(timer);
      socket.terminate();
    }, graceMs);
    timer.unref();
    this.graceTimers.add(timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.graceTimers.delete(timer);
    });
  }

  /** Closes every connection of a user on this instance; returns how many. */
  closeUser(
    userId: string,
    code: number,
    reason: string,
    why: string = DisconnectReason.SERVER_DISCONNECT,
  ): number {
    const set = this.registry.ofUser(userId);
    if (!set) return 0;
    const clients = [...set];
    for (const c of clients) this.close(c, code, reason, why);
    return clients.length;
  }

  /** Closes the clients of this instance that `match` picks (all picked first); returns how many. */
  closeWhere(match: (client: Connection) => boolean, code: number, reason: string, why: string) {
    const clients = this.registry.list.filter(match);
    for (const c of clients) this.close(c, code, reason, why);
    return clients.length;
  }

  /** A client that stopped answering pings: cut without a close handshake. */
  evict(client: Connection): void {
    client.closeReason = DisconnectReason.HEARTBEAT_TIMEOUT;
    this.counters.evictions++;
    this.remove(client, CloseCode.ABNORMAL, DisconnectReason.HEARTBEAT_TIMEOUT);
    client.socket.terminate();
  }

  /** The socket closed (either side): unregisters it if the server had not already. */
  closed(client: Connection, code: number | undefined): void {
    if (client.removed) return;
    this.remove(
      client,
      client.closeCode ?? (typeof code === 'number' ? code : CloseCode.ABNORMAL),
      reasonFor(client, code),
    );
  }

  /**
   * Sends every client 1001 and waits up to `timeoutMs` for the close handshakes; what has not
   * answered by then is destroyed by its grace timer.
   */
  async drain(timeoutMs: number): Promise<{ clients: number; answered: number }> {
    const closed: Promise<void>[] = [];
    let answered = 0;
    // Deleting from a Map while iterating it is safe: close() unregisters as it goes.
    for (const client of this.registry.values()) {
      const socket = client.socket;
      closed.push(
        new Promise<void>((resolve) =>
          socket.once('close', () => {
            answered++;
            resolve();
          }),
        ),
      );
      this.close(
        client,
        CloseCode.GOING_AWAY,
        'server shutting down',
        DisconnectReason.SERVER_SHUTDOWN,
        timeoutMs,
      );
    }
    if (closed.length === 0) return { clients: 0, answered: 0 };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs + 100))),
    ]);
    clearTimeout(timer);
    return { clients: closed.length, answered };
  }

  /** Clears the grace timers of closes still waiting for their peer. */
  dispose(): void {
    for (const t of this.graceTimers) clearTimeout(t);
    this.graceTimers.clear();
  }

  private remove(client: Connection, code: number, reason: string): void {
    if (client.removed) return;
    client.removed = true;
    client.receiver?.removed(client);
    if (client.subscriptions) {
      for (const subscription of client.subscriptions) subscription.unsubscribe();
      client.subscriptions = undefined;
    }
    const lastOfUser = this.registry.delete(client);
    this.heartbeat.remove(client);
    this.expiry?.remove(client);
    client.socket.off('pong', markAlive);
    this.rooms.removeAll(client);
    const userId = client.userId;
    if (lastOfUser) this.link.userRemoved(userId!);
    this.link.clientRemoved(client.id);
    this.counters.countClosed(reason);
    // A connection replaced by a resume of its session: the client is still connected (on the
    // newer connection, here or elsewhere), so the app is not told it left.
    if (reason === DisconnectReason.SESSION_RESUMED) return;
    this.events.disconnected.next({ clientId: client.id, userId, code, reason });
  }
}

/** Why a client left, when the server did not decide it. */
export function reasonFor(client: Connection, code: number | undefined): string {
  if (client.closeReason) return client.closeReason;
  if (code === CloseCode.MESSAGE_TOO_BIG) return DisconnectReason.PAYLOAD_TOO_LARGE;
  if (code === undefined || code === CloseCode.ABNORMAL) return DisconnectReason.CONNECTION_LOST;
  return DisconnectReason.CLIENT_CLOSED;
}

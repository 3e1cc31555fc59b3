import type { Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import { tcpOf, type FrameSender } from './frame-writer.js';
import type { WindowCounter } from './window-counter.js';

/** Where a socket keeps its `Connection`, so handlers can find it without a lookup. */
export const kConnection = Symbol('ws-hub.connection');

/** A socket as the hub sees it: the `ws` socket carrying its client record once registered. */
export type HubSocket = WebSocket & { [kConnection]?: Connection };

/** What the handshake decided about a connection, handed to the registry. */
export interface ConnectionInfo {
  /**
   * Client IP for per-IP limits (the socket address, or what `clientIp` returned); undefined
   * when nothing needed it at the handshake (it is then read from the socket on demand).
   */
  ip: string | undefined;
  /** Set when `authenticate` accepted the handshake. */
  principal: HubPrincipal | undefined;
  /** The subprotocol the server picked (`ws-hub.recovery`: the client asked for recovery). */
  protocol?: string;
}

/**
 * What clients with a receiver are handed for a message: defined by the delivery strategy that
 * installed the receivers (recovery: the message's positions and per-recipient frames). The
 * core only carries it from the publisher to the receivers.
 */
export interface ReceiverMessage {
  /** Never read by the core; keeps arbitrary values from passing for a message. */
  readonly receiverMessage: true;
}

/**
 * A client that does not take the plain frames of messages, and the state that comes with it
 * (with recovery: positioned frames, held while its session is resumed, and its session).
 * Installed on `Connection.receiver` by the delivery strategy when the client registers; the
 * core hands it each message for the client and tells it what happens to the client.
 */
export interface ClientReceiver {
  /**
   * The event the connection must open with (recovery: `recover`), while it has not; other
   * frames are refused meanwhile. Undefined once it did, or when no first frame is expected.
   */
  readonly firstFrame: string | undefined;
  /**
   * Takes an incoming frame to hand back later (its opening is still being answered: frames
   * must follow the welcome); false to let it be handled now.
   */
  hold(client: Connection, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): boolean;
  /**
   * Writes (or holds) one message for `client`; false when nothing was written now. Also
   * handed messages whose `except` names the client: the receiver decides what that means.
   */
  deliver(client: Connection, message: ReceiverMessage): boolean;
  /**
   * `client` is now in `room` (`byClient`: its own `join`, else `HubService.join`). A promise
   * settles once that is recorded (the `joined` reply waits for it); it never rejects.
   */
  roomJoined(client: Connection, room: string, byClient: boolean): Promise<void> | void;
  /** `client` left `room` (`byServer`: `HubService.leave`, else its own `leave` or an undo). */
  roomLeft(client: Connection, room: string, byServer?: boolean): void;
  /** `client` was unregistered (closed, evicted, or replaced by a resume of its session). */
  removed(client: Connection): void;
}

/** Everything the hub keeps about one connection (internal). */
export class Connection {
  /** Set by the heartbeat to false when it pings; any pong or frame sets it back. */
  alive = true;
  missedPongs = 0;
  /** Index of the heartbeat bucket the client is in. */
  bucket = -1;
  droppedMessages = 0;
  rooms: Set<string> | undefined;
  /** The last of the client's pending joins and leaves, by room (they apply in order). */
  roomOps: Map<string, Promise<void>> | undefined;
  /** Token bucket state for the rate limit. */
  tokens = 0;
  lastRefillMs = 0;
  rateViolations: WindowCounter | undefined;
  invalidFrames: WindowCounter | undefined;
  /** Frames whose handler failed unexpectedly (answered `INTERNAL`), per window. */
  handlerFailures: WindowCounter | undefined;
  /** Why the server is closing this client, once it decided to. */
  closeReason: string | undefined;
  /** Close code to report when the close event cannot tell (ws destroys after protocol errors). */
  closeCode: number | undefined;
  removed = false;
  /** Position in the registry's dense client list (broadcasts walk an array, not a Map). */
  index = -1;
  /** Observables returned by handlers, still emitting replies; ended when the client goes. */
  subscriptions: Set<Subscription> | undefined;
  /** Where pre-built frames can be written, or undefined to go through `send()`. */
  frameSender: FrameSender | undefined;
  /**
   * Write coalescing: the operation of its last write (see `Delivery.cork`), negated once its
   * socket is corked until that operation ends.
   */
  lastWriteOp = 0;
  /**
   * Set by the delivery strategy for clients that do not take plain frames (recovery: positioned
   * frames); undefined for plain clients.
   */
  receiver: ClientReceiver | undefined;
  /** The client's first id: unique per connection, kept when a resume changes `id`. */
  readonly connectionId: string;
  /** When the connection's token expires (the principal's `expiresAt`), if it does. */
  expiresAt: number | undefined;
  /** Whether `expiring` was sent for the current token. */
  refreshAsked = false;

  constructor(
    /** Mutable only once: a resumed session takes back its previous id before the welcome. */
    public id: string,
    readonly socket: HubSocket,
    readonly connectedAt: number,
    /** The IP the handshake read, or undefined (see `ConnectionInfo.ip`). */
    readonly ip: string | undefined,
    /** Replaced by an accepted `refresh` (same user, new claims and expiry). */
    public principal: HubPrincipal | undefined,
  ) {
    this.connectionId = id;
    const at = principal?.expiresAt;
    this.expiresAt = typeof at === 'number' && Number.isFinite(at) ? at : undefined;
  }

  /** Peer IP address: the handshake's, else the socket's (read once, on first use). */
  get remoteAddress(): string {
    return (this.peer ??= this.ip ?? tcpOf(this.socket)?.remoteAddress ?? 'unknown');
  }

  private peer: string | undefined;

  get userId(): string | undefined {
    return this.principal?.userId;
  }
}

import type { Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import { tcpOf, type FrameSender, type OutgoingFrame } from './frame-writer.js';
import type { Positions } from '../protocol/streams.js';
import type { WindowCounter } from './window-counter.js';

/** Where a socket keeps its `HubClient`, so handlers can find it without a lookup. */
export const kHubClient = Symbol('ws-hub.client');

/** A socket as the hub sees it: the `ws` socket carrying its client record once registered. */
export type HubSocket = WebSocket & { [kHubClient]?: HubClient };

/** What the handshake decided about a connection, handed to the registry. */
export interface ConnectionInfo {
  /**
   * Client IP for per-IP limits (the socket address, or what `clientIp` returned); undefined
   * when nothing needed it at the handshake (it is then read from the socket on demand).
   */
  ip: string | undefined;
  /** Set when `authenticate` accepted the handshake. */
  principal: HubPrincipal | undefined;
  /** Whether the client negotiated the `ws-hub.recovery` subprotocol. */
  recovery?: boolean;
}

/** A positioned frame held for a client while its session is being resumed. */
export interface HeldFrame {
  frame: OutgoingFrame;
  positions: Positions;
}

/** Recovery state of a client that negotiated `ws-hub.recovery` (internal). */
export interface ClientRecovery {
  /** Until its `recover` frame is handled: no welcome yet, and live frames are held. */
  awaiting: boolean;
  /** Positioned frames that arrived while the session was being resumed, in order. */
  held: HeldFrame[] | undefined;
  /**
   * After a replay: the last offset delivered per stream. A live frame at or below it was in
   * the replay; a stream leaves the map at its first frame beyond (from then on offsets only grow).
   */
  seam: Map<string, number> | undefined;
  /** Closes the connection if no `recover` frame comes in time. */
  timer: NodeJS.Timeout | undefined;
  /** Whether a resumable session was recorded for this connection. */
  hasSession: boolean;
}

/** Everything the hub keeps about one connection (internal). */
export class HubClient {
  /** Set by the heartbeat to false when it pings; any pong or frame sets it back. */
  alive = true;
  missedPongs = 0;
  /** Index of the heartbeat bucket the client is in. */
  bucket = -1;
  droppedMessages = 0;
  rooms: Set<string> | undefined;
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
  /** Set when the client negotiated recovery: it gets positioned frames. */
  recovery: ClientRecovery | undefined;

  constructor(
    /** Mutable only once: a resumed session takes back its previous id before the welcome. */
    public id: string,
    readonly socket: HubSocket,
    readonly connectedAt: number,
    /** The IP the handshake read, or undefined (see `ConnectionInfo.ip`). */
    readonly ip: string | undefined,
    readonly principal: HubPrincipal | undefined,
  ) {}

  /** Peer IP address: the handshake's, else the socket's (read once, on first use). */
  get remoteAddress(): string {
    return (this.peer ??= this.ip ?? tcpOf(this.socket)?.remoteAddress ?? 'unknown');
  }

  private peer: string | undefined;

  get userId(): string | undefined {
    return this.principal?.userId;
  }
}

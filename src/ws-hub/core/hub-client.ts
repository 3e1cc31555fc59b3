import type { Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import type { FrameSender } from './frame-writer.js';
import type { WindowCounter } from './window-counter.js';

/** Where a socket keeps its `HubClient`, so handlers can find it without a lookup. */
export const kHubClient = Symbol('ws-hub.client');

/** A socket as the hub sees it: the `ws` socket carrying its client record once registered. */
export type HubSocket = WebSocket & { [kHubClient]?: HubClient };

/** What the handshake decided about a connection, handed to the registry. */
export interface ConnectionInfo {
  /** Client IP for per-IP limits (the socket address, or what `clientIp` returned). */
  ip: string;
  /** Set when `authenticate` accepted the handshake. */
  principal: HubPrincipal | undefined;
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

  constructor(
    readonly id: string,
    readonly socket: HubSocket,
    readonly connectedAt: number,
    readonly remoteAddress: string,
    readonly principal: HubPrincipal | undefined,
  ) {}

  get userId(): string | undefined {
    return this.principal?.userId;
  }
}

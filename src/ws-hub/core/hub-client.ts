import type { Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { FrameSender } from './frame-writer.js';
import type { HubPrincipal } from '../interfaces/options.interface.js';

/** Where a socket keeps its `HubClient`, so the socket adapter can find it without a lookup. */
export const kHubClient = Symbol('ws-hub.client');
/** Where the handshake leaves what it decided on the upgrade request. */
export const kHandshake = Symbol('ws-hub.handshake');

export interface HandshakeResult {
  ip: string;
  principal: HubPrincipal | undefined;
}

/**
 * A count of events in a fixed window; cheaper than a sliding log and good enough for limits.
 * It reads a monotonic clock, so a wall-clock step back cannot freeze a window.
 */
export class WindowCounter {
  private count = 0;
  private windowStartMs = -Infinity;

  constructor(private readonly windowMs: number) {}

  /** Adds one event and returns the count within the current window. */
  hit(): number {
    const nowMs = performance.now();
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.count = 0;
    }
    return ++this.count;
  }
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
  /** Position in the hub's dense client list (broadcasts walk an array, not a Map). */
  index = -1;
  /** Observables returned by handlers, still emitting replies; ended when the client goes. */
  subscriptions: Set<Subscription> | undefined;
  /** Where pre-built frames can be written, or undefined to go through `send()`. */
  frameSender: FrameSender | undefined;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly connectedAt: number,
    readonly remoteAddress: string,
    readonly principal: HubPrincipal | undefined,
  ) {}

  get userId(): string | undefined {
    return this.principal?.userId;
  }
}

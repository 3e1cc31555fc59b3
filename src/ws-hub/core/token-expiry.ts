import type { HubPrincipal } from '../interfaces/options.interface.js';
import { ServerEvent } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import { Deadlines } from './deadlines.js';
import type { Connection } from './connection.js';

/** How much earlier than its lead an `expiring` may go, at random (a fraction of the lead). */
const ASK_SPREAD = 0.25;

/** When a connection's token expires, as the welcome, `expiring` and `refreshed` carry it. */
export interface TokenExpiryData {
  /** Server epoch milliseconds. */
  expiresAt: number;
  /** The same, relative to now (ms): what a client with a skewed clock goes by. */
  expiresInMs: number;
}

/** The expiry a principal carries: a finite number, else undefined (no expiry). */
function expiryOf(principal: HubPrincipal | undefined): number | undefined {
  const at = principal?.expiresAt;
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

/**
 * Connection expiry: one `Deadlines` structure (one timer) for every connection whose token
 * expires. A connection's deadline is first the time to ask for a refresh (`expiring`,
 * `refreshBeforeMs` before expiry or at half the remaining lifetime if that is later, up to a
 * quarter of that lead earlier at random), then its
 * expiry, where it is closed (4440) unless a refresh moved it. Nothing runs per connection
 * in between.
 */
export class TokenExpiry {
  private readonly deadlines: Deadlines<Connection>;

  constructor(
    private readonly refreshBeforeMs: number,
    /** Writes a frame to a client (`expiring`). */
    private readonly write: (client: Connection, text: string) => void,
    /** Closes a client whose token expired. */
    private readonly expire: (client: Connection) => void,
    private readonly now: () => number = Date.now,
    resolutionMs = 250,
    private readonly random: () => number = Math.random,
  ) {
    this.deadlines = new Deadlines((client) => this.due(client), resolutionMs, now);
  }

  /** Connections whose token is watched. */
  get size(): number {
    return this.deadlines.size;
  }

  /** `client` is open (its welcome sent): its token's expiry is watched from now on. */
  track(client: Connection): void {
    const at = client.expiresAt;
    if (at === undefined || client.removed) return;
    this.schedule(client, at);
  }

  /** A `refresh` was accepted: the client's principal is the new one; the `refreshed` data. */
  renewed(client: Connection, principal: HubPrincipal): TokenExpiryData | Record<string, never> {
    const before = client.expiresAt;
    client.principal = principal;
    const at = (client.expiresAt = expiryOf(principal));
    if (at === undefined) {
      this.deadlines.delete(client);
      return {};
    }
    if (!client.removed) {
      // The same token again (or one expiring no later) is not asked for again: asking at half
      // of an ever shorter remaining lifetime would be a refresh loop until expiry.
      if (before !== undefined && at <= before && client.refreshAsked) {
        this.deadlines.set(client, at);
      } else this.schedule(client, at);
    }
    return this.data(client)!;
  }

  /** What the welcome says of the expiry; undefined for a token that does not expire. */
  data(client: Connection): TokenExpiryData | undefined {
    const at = client.expiresAt;
    return at === undefined
      ? undefined
      : { expiresAt: at, expiresInMs: Math.max(0, at - this.now()) };
  }

  /** `client` is gone. */
  remove(client: Connection): void {
    this.deadlines.delete(client);
  }

  /** Drops every deadline and the timer (shutdown). */
  clear(): void {
    this.deadlines.clear();
  }

  private schedule(client: Connection, at: number): void {
    const now = this.now();
    client.refreshAsked = false;
    const base = Math.max(at - this.refreshBeforeMs, now + (at - now) / 2);
    // Up to a quarter of the lead earlier, at random: connections opened together (after a
    // deploy) do not all refresh together, minute after minute.
    const askAt = base - ASK_SPREAD * this.random() * (at - base);
    this.deadlines.set(client, Math.min(askAt, at));
  }

  private due(client: Connection): void {
    const at = client.expiresAt;
    if (client.removed || at === undefined) return;
    if (this.now() >= at) return this.expire(client);
    if (!client.refreshAsked) {
      client.refreshAsked = true;
      this.write(client, encodeFrame(ServerEvent.EXPIRING, this.data(client)));
    }
    this.deadlines.set(client, at);
  }
}

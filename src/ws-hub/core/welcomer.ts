import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { PROTOCOL_VERSION, ServerEvent } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/envelope.js';
import type { Connection } from './connection.js';
import type { HubEvents } from './hub-events.js';
import type { TokenExpiry } from './token-expiry.js';

/**
 * The end of a connection's opening: its welcome frame, then its announcement (`connected$`,
 * after which the app's own gateways see it). Plain clients get both at registration; a
 * recovering client once its `recover` frame was answered.
 */
export class Welcomer {
  constructor(
    private readonly options: Pick<
      ResolvedHubOptions,
      'pingIntervalMs' | 'maxPayloadBytes' | 'welcome'
    >,
    private readonly events: HubEvents,
    /** Connection expiry: its data in the welcome, watched from the announcement on. */
    private readonly expiry?: Pick<TokenExpiry, 'data' | 'track'>,
  ) {}

  /** Whether plain connections get a welcome frame (`welcome` option). */
  get enabled(): boolean {
    return this.options.welcome;
  }

  /** The welcome frame; `extra` goes into its data (recovery's), `id` answers a frame. */
  frame(client: Connection, extra?: Record<string, unknown>, id?: string | number): string {
    const data: Record<string, unknown> = {
      clientId: client.id,
      pingIntervalMs: this.options.pingIntervalMs,
      protocol: PROTOCOL_VERSION,
      maxPayloadBytes: this.options.maxPayloadBytes,
    };
    if (client.userId !== undefined) data.userId = client.userId;
    const expiry = this.expiry?.data(client);
    if (expiry) Object.assign(data, expiry);
    return encodeFrame(ServerEvent.WELCOME, extra ? { ...data, ...extra } : data, id);
  }

  /** Emits `connected$` for a client that is now fully open. */
  announce(client: Connection): void {
    this.expiry?.track(client);
    this.events.connected.next({
      clientId: client.id,
      userId: client.userId,
      principal: client.principal,
      remoteAddress: client.remoteAddress,
      connectedAt: client.connectedAt,
    });
  }
}

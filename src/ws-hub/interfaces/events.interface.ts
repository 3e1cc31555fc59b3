import type { HubPrincipal } from './options.interface.js';

/** A snapshot of one connected client, as `HubService.clients()` returns it. */
export interface HubClientInfo {
  id: string;
  /** Epoch milliseconds of the handshake. */
  connectedAt: number;
  /** Peer IP address (as the socket sees it, or as `clientIp` returns it). */
  remoteAddress: string;
  /** Set when `authenticate` accepted the handshake. */
  userId?: string;
  /** When the connection's token expires (epoch ms), if it does; moved by each `refresh`. */
  expiresAt?: number;
  /** Messages skipped for this client because it read too slowly (`slowConsumer: 'drop'`). */
  droppedMessages: number;
  /** Rooms the client is in. */
  rooms: string[];
}

/**
 * The hub's view of the client that sent a frame, for gateway handlers (`@ConnectedClient()`)
 * and guards (`hubClientOf(context)`).
 */
export interface HubConnectedClient extends HubClientInfo {
  /** What `authenticate` returned (user id and claims), when it accepted the handshake. */
  principal?: HubPrincipal;
}

export interface HubConnectedEvent {
  clientId: string;
  userId?: string;
  principal?: HubPrincipal;
  remoteAddress: string;
  connectedAt: number;
}

export interface HubDisconnectedEvent {
  clientId: string;
  userId?: string;
  /** WebSocket close code (1006 when the connection was cut without a close frame). */
  code: number;
  /** Why: `client-closed`, `connection-lost`, `heartbeat-timeout`, `server-shutdown`, ... */
  reason: string;
}

export interface HubMessageEvent<T = unknown> {
  clientId: string;
  userId?: string;
  event: string;
  data: T;
  id?: string | number;
}

export interface BroadcastOptions {
  /** Client ids that must not receive the message. */
  except?: string | string[];
  /** Deliver only to members of these rooms (union, each client once). */
  rooms?: string | string[];
}

/** Counters for monitoring. */
export interface HubStats {
  /** Clients on this instance. */
  online: number;
  /** Messages skipped for slow clients since start. */
  droppedMessages: number;
  /** Clients closed for reading too slowly since start. */
  slowConsumersClosed: number;
  /** Connections refused at the handshake since start, by HTTP status. */
  rejectedHandshakes: Record<string, number>;
  /** The cross-instance adapter's own counters (the Redis adapter: published, failures, reconnects, ...). */
  adapter?: object;
}

/** What `HubService.drain()` did. */
export interface HubDrainResult {
  /** Clients closed with 1012 `server restarting`. */
  clients: number;
  /** Of those, how many answered the close within `shutdownTimeoutMs` (the rest were cut). */
  answered: number;
  /** From the first close to the last, in milliseconds (at most about `drainMs`). */
  spreadMs: number;
}
/** Who sent the frame a custom handler (`HubService.handle`) is answering. */
export interface HubHandlerContext {
  clientId: string;
  userId: string | undefined;
  principal: HubPrincipal | undefined;
  event: string;
  /** The frame's correlation id; the reply repeats it without the handler's help. */
  id: string | number | undefined;
}

/**
 * Handles a custom client event. The return value (or its promise) is the reply: an object
 * with a string `event` is sent as `{event, id, data}`, anything else as `{event: <same event>,
 * id, data: value}`; `undefined` sends nothing. Throw `HubError` to answer a specific code.
 */
export type HubEventHandler<T = any> = (context: HubHandlerContext, data: T) => unknown;

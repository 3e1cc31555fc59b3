import type { HubClientInfo, HubConnectedClient } from '../interfaces/events.interface.js';
import type { Connection } from './connection.js';

/** A snapshot of a client, as `HubService.clients()` returns it. */
export function infoOf(c: Connection): HubClientInfo {
  const info: HubClientInfo = {
    id: c.id,
    connectedAt: c.connectedAt,
    remoteAddress: c.remoteAddress,
    droppedMessages: c.droppedMessages,
    rooms: c.rooms ? [...c.rooms] : [],
  };
  if (c.userId !== undefined) info.userId = c.userId;
  if (c.expiresAt !== undefined) info.expiresAt = c.expiresAt;
  return info;
}

/** The hub's view of a client for handlers and guards: the snapshot plus the principal. */
export function connectedClientOf(c: Connection): HubConnectedClient {
  const view: HubConnectedClient = infoOf(c);
  if (c.principal !== undefined) view.principal = c.principal;
  return view;
}

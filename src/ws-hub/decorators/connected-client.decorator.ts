import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { connectedClientOf } from '../core/client-info.js';
import { kConnection, type HubSocket } from '../core/connection.js';
import type { HubConnectedClient } from '../interfaces/events.interface.js';

/**
 * The hub's view of the client behind a frame (id, user, principal claims, rooms), from a
 * guard's or interceptor's `ExecutionContext` or from the socket itself. Undefined for a
 * socket the hub did not register (another gateway's, or one being refused).
 */
export function hubClientOf(
  source: ExecutionContext | WebSocket | undefined,
): HubConnectedClient | undefined {
  const socket =
    source !== undefined && typeof (source as ExecutionContext).switchToWs === 'function'
      ? (source as ExecutionContext).switchToWs().getClient<HubSocket>()
      : (source as HubSocket | undefined);
  const client = socket?.[kConnection];
  return client && !client.removed ? connectedClientOf(client) : undefined;
}

/**
 * Parameter decorator: the hub's view of the client that sent the frame, as
 * `HubConnectedClient`. `@ConnectedSocket()` still gives the raw `ws` socket.
 *
 * ```ts
 * @SubscribeMessage('chat')
 * chat(@ConnectedClient() client: HubConnectedClient, @MessageBody() body: ChatDto) { ... }
 * ```
 */
export const ConnectedClient = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): HubConnectedClient | undefined => hubClientOf(ctx),
);

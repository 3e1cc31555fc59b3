import { WebSocketGateway } from '@nestjs/websockets';
import { HUB_GATEWAY_METADATA } from './nest-metadata.js';

/**
 * Declares a gateway on the hub's endpoint without repeating its path: its `@SubscribeMessage`
 * handlers join the hub's dispatcher, with the hub's protocol (ids, error frames) and limits.
 * Same as `@WebSocketGateway({ path: <the hub's path> })`, also when the path comes from
 * `forRootAsync`. Needs `WsHubModule` in the app.
 */
export function HubGateway(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(HUB_GATEWAY_METADATA, true, target);
    // The hub rewrites the options with its own at startup; this marks the class a gateway.
    WebSocketGateway({ path: '/ws-hub-gateway' })(target);
  };
}

/**
 * Metadata keys `@nestjs/websockets` writes with its public decorators (`@WebSocketGateway`,
 * `@SubscribeMessage`) and `@nestjs/common`'s `@UseFilters`. The package exports them only
 * from an internal path, so they are named here once; the hub only reads them (and writes
 * gateway options and filters through the public decorators).
 */
export const GATEWAY_METADATA = 'websockets:is_gateway';
export const GATEWAY_OPTIONS = 'websockets:gateway_options';
export const PORT_METADATA = 'port';
export const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
export const MESSAGE_METADATA = 'message';
export const EXCEPTION_FILTERS_METADATA = '__exceptionFilters__';
/** Set by `@HubGateway()`: the gateway joins the hub's endpoint, whatever its path. */
export const HUB_GATEWAY_METADATA = 'ws-hub:gateway';

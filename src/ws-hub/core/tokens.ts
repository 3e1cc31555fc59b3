/** Injection token of the options given to `WsHubModule.forRoot` / `forRootAsync`. */
export const WS_HUB_MODULE_OPTIONS = 'WS_HUB:MODULE_OPTIONS';
/** Injection token of the validated options with every default filled in (internal). */
export const WS_HUB_RESOLVED_OPTIONS = 'WS_HUB:RESOLVED_OPTIONS';
/** Injection token of the cross-instance adapter (`HubAdapter`). */
export const WS_HUB_ADAPTER = 'WS_HUB:ADAPTER';
/** Injection token of the hub's object graph (internal: the gateway, metrics and health use it). */
export const WS_HUB_CORE = 'WS_HUB:CORE';
